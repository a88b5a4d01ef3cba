import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { expectProblem, expectValid, fixtures, problemsOf, set } from '../testing/schema-fixtures.js';

const c0 = 'spec.containers[0]';
const pod = (path: string, value: unknown) => set(fixtures.pod(), path, value);

describe('containers', () => {
  test('a pod needs at least one container', () => {
    expectProblem(pod('spec.containers', []), 'spec.containers', 'must have at least 1 item');
    expectProblem(pod('spec.containers', undefined), 'spec.containers', 'required');
  });

  test('a container name must be an RFC 1123 label', () => {
    expectProblem(pod(`${c0}.name`, 'Web_1'), `${c0}.name`, `must be a lowercase RFC 1123 label (a-z, 0-9, '-'): current value is "Web_1"`);
  });

  test('container names must be unique within the pod, init containers included', () => {
    const obj = pod('spec.containers[1]', { name: 'web', image: 'busybox' });
    expectProblem(obj, 'spec.containers[1].name', 'must be unique within the pod: current value is "web"');
    const withInit = pod('spec.initContainers', [{ name: 'web', image: 'busybox' }]);
    expectProblem(withInit, 'spec.containers[0].name', 'must be unique within the pod');
  });

  test('a container image must not be empty', () => {
    expectProblem(pod(`${c0}.image`, '  '), `${c0}.image`, 'must not be empty');
  });

  test('imagePullPolicy must be Always, IfNotPresent or Never', () => {
    expectProblem(pod(`${c0}.imagePullPolicy`, 'Sometimes'), `${c0}.imagePullPolicy`, 'must be one of "Always", "IfNotPresent", "Never": current value is "Sometimes"');
  });

  test('restartPolicy must be Always, OnFailure or Never', () => {
    expectProblem(pod('spec.restartPolicy', 'Forever'), 'spec.restartPolicy', 'must be one of "Always", "OnFailure", "Never": current value is "Forever"');
  });

  test('command and args must be lists of strings', () => {
    expectProblem(pod(`${c0}.command`, 'sleep 10'), `${c0}.command`, 'must be a list: current value is "sleep 10"');
  });
});

describe('ports', () => {
  test('a container port must be between 1 and 65535', () => {
    expectProblem(pod(`${c0}.ports`, [{ containerPort: 0 }]), `${c0}.ports[0].containerPort`, 'must be greater than or equal to 1: current value is 0');
    expectProblem(pod(`${c0}.ports`, [{ containerPort: 70000 }]), `${c0}.ports[0].containerPort`, 'must be less than or equal to 65535: current value is 70000');
    expectProblem(pod(`${c0}.ports`, [{ containerPort: 80, hostPort: 65536 }]), `${c0}.ports[0].hostPort`, 'must be less than or equal to 65535');
  });

  test('a container port protocol must be TCP or UDP and its name a short port name', () => {
    expectProblem(pod(`${c0}.ports`, [{ containerPort: 80, protocol: 'SCTP' }]), `${c0}.ports[0].protocol`, 'must be one of "TCP", "UDP"');
    expectProblem(pod(`${c0}.ports`, [{ containerPort: 80, name: 'http-metrics-port' }]), `${c0}.ports[0].name`, 'no more than 15 characters');
  });
});

describe('resources', () => {
  test('resource quantities must parse', () => {
    expectProblem(pod(`${c0}.resources`, { limits: { memory: 'lots' } }), `${c0}.resources.limits.memory`, 'must be a quantity such as "250m", "1", "64Mi": current value is "lots"');
    expectProblem(pod(`${c0}.resources`, { requests: { cpu: '-1' } }), `${c0}.resources.requests.cpu`, 'must be a non-negative quantity');
    expectValid(pod(`${c0}.resources`, { requests: { cpu: 0.5, memory: '64Mi' }, limits: { cpu: '1', memory: '1G', 'example.com/gpu': 1 } }));
  });

  test('a resource name must be cpu, memory, ephemeral-storage or prefixed', () => {
    expectProblem(pod(`${c0}.resources`, { limits: { cpus: '1' } }), `${c0}.resources.limits.cpus`, 'unknown resource "cpus"');
  });

  test('a request must not exceed its limit', () => {
    expectProblem(
      pod(`${c0}.resources`, { requests: { cpu: '1' }, limits: { cpu: '500m' } }),
      `${c0}.resources.requests.cpu`,
      'must be less than or equal to the limit "500m": current value is "1"',
    );
  });
});

describe('env', () => {
  test('an env var name must not contain "=" or start with a digit', () => {
    expectProblem(pod(`${c0}.env`, [{ name: '1A=B', value: 'x' }]), `${c0}.env[0].name`, 'must be an environment variable name');
  });

  test('an env var has value or valueFrom, not both, and valueFrom exactly one source', () => {
    const ref = { configMapKeyRef: { name: 'cfg', key: 'k' } };
    expectProblem(pod(`${c0}.env`, [{ name: 'A', value: 'x', valueFrom: ref }]), `${c0}.env[0].valueFrom`, 'must not be set together with value');
    expectProblem(
      pod(`${c0}.env`, [{ name: 'A', valueFrom: { ...ref, secretKeyRef: { name: 's', key: 'k' } } }]),
      `${c0}.env[0].valueFrom`,
      'must specify exactly one source (configMapKeyRef, secretKeyRef, fieldRef or resourceFieldRef): got configMapKeyRef, secretKeyRef',
    );
  });

  test('an env value that YAML read as a number must be quoted', () => {
    expectProblem(pod(`${c0}.env`, [{ name: 'PORT', value: 8080 }]), `${c0}.env[0].value`, 'must be a string: current value is 8080');
  });

  test('a fieldRef must name a field the agent can provide, and the refusal names the path', () => {
    expectProblem(pod(`${c0}.env`, [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'status.phase' } } }]), `${c0}.env[0].valueFrom.fieldRef.fieldPath`, 'must be one of "metadata.name"');
    expectProblem(pod(`${c0}.env`, [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.labels' } } }]), `${c0}.env[0].valueFrom.fieldRef.fieldPath`, 'current value is "metadata.labels"');
    for (const fieldPath of ["metadata.labels['app']", "metadata.annotations['a/b']", 'spec.serviceAccountName', 'status.podIPs', 'status.hostIPs', 'metadata.uid']) {
      expectValid(pod(`${c0}.env`, [{ name: 'A', valueFrom: { fieldRef: { fieldPath } } }]));
    }
  });

  test('a resourceFieldRef names a supported resource and a divisor valid for it', () => {
    const env = (ref: unknown) => pod(`${c0}.env`, [{ name: 'A', valueFrom: { resourceFieldRef: ref } }]);
    expectValid(env({ resource: 'limits.memory', divisor: '1Mi' }));
    expectValid(env({ resource: 'requests.cpu', divisor: '1m' }));
    expectValid(env({ resource: 'limits.cpu' }));
    expectProblem(env({ resource: 'limits.gpu' }), `${c0}.env[0].valueFrom.resourceFieldRef.resource`, 'must be one of "limits.cpu"');
    expectProblem(env({ resource: 'limits.cpu', divisor: '1Mi' }), `${c0}.env[0].valueFrom.resourceFieldRef.divisor`, 'must be one of "1m", "1" for limits.cpu: current value is "1Mi"');
  });
});

describe('envFrom', () => {
  test('an envFrom entry names a ConfigMap or a Secret, with an optional prefix', () => {
    expectValid(pod(`${c0}.envFrom`, [{ prefix: 'CFG_', configMapRef: { name: 'cfg' } }, { secretRef: { name: 's', optional: true } }]));
  });

  test('an envFrom entry naming neither or both sources is refused', () => {
    expectProblem(pod(`${c0}.envFrom`, [{ prefix: 'X_' }]), `${c0}.envFrom[0]`, 'must specify exactly one source (configMapRef or secretRef): none given');
    expectProblem(pod(`${c0}.envFrom`, [{ configMapRef: { name: 'a' }, secretRef: { name: 'b' } }]), `${c0}.envFrom[0]`, 'got configMapRef, secretRef');
  });

  test('an envFrom prefix must be an environment variable name', () => {
    expectProblem(pod(`${c0}.envFrom`, [{ prefix: '1=', configMapRef: { name: 'a' } }]), `${c0}.envFrom[0].prefix`, 'must be an environment variable name');
  });
});

describe('securityContext', () => {
  test('the supported fields are accepted at pod and container level', () => {
    const obj = pod(`${c0}.securityContext`, {
      runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, readOnlyRootFilesystem: true, privileged: false,
      allowPrivilegeEscalation: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
    });
    expectValid(set(obj, 'spec.securityContext', { runAsUser: 1000, runAsGroup: 2000, runAsNonRoot: true, supplementalGroups: [3000] }));
  });

  test('the fields Bramble cannot enforce are refused by name, never ignored', () => {
    for (const f of ['seLinuxOptions', 'seccompProfile', 'appArmorProfile', 'procMount', 'windowsOptions']) {
      expectProblem(pod(`${c0}.securityContext`, { [f]: {} }), `${c0}.securityContext.${f}`, 'is not supported by Bramble');
    }
    for (const f of ['sysctls', 'fsGroup', 'seccompProfile', 'seLinuxOptions', 'appArmorProfile', 'windowsOptions']) {
      expectProblem(pod('spec.securityContext', { [f]: f === 'fsGroup' ? 1 : {} }), `spec.securityContext.${f}`, 'is not supported by Bramble');
    }
  });

  test('runAsUser must be a non-negative integer', () => {
    expectProblem(pod(`${c0}.securityContext`, { runAsUser: -1 }), `${c0}.securityContext.runAsUser`, 'must be greater than or equal to 0: current value is -1');
  });

  test('allowPrivilegeEscalation cannot be false for a privileged container or one with SYS_ADMIN', () => {
    expectProblem(pod(`${c0}.securityContext`, { privileged: true, allowPrivilegeEscalation: false }), `${c0}.securityContext.allowPrivilegeEscalation`, 'must not be false when privileged is true');
    expectProblem(pod(`${c0}.securityContext`, { capabilities: { add: ['SYS_ADMIN'] }, allowPrivilegeEscalation: false }), `${c0}.securityContext.allowPrivilegeEscalation`, 'SYS_ADMIN');
  });

  test('capability names must look like capabilities', () => {
    expectProblem(pod(`${c0}.securityContext`, { capabilities: { add: ['net admin'] } }), `${c0}.securityContext.capabilities.add[0]`, 'must be a capability name');
  });
});

describe('probes', () => {
  const probe = (p: unknown) => pod(`${c0}.livenessProbe`, p);

  test('probe timings must be non-negative', () => {
    for (const f of ['initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold']) {
      expectProblem(probe({ tcpSocket: { port: 80 }, [f]: -1 }), `${c0}.livenessProbe.${f}`, 'must be greater than or equal to 0: current value is -1');
    }
  });

  test('a probe needs exactly one handler', () => {
    expectProblem(probe({ periodSeconds: 5 }), `${c0}.livenessProbe`, 'must specify exactly one handler (exec, httpGet, tcpSocket or grpc): none given');
    expectProblem(
      probe({ exec: { command: ['true'] }, httpGet: { port: 80 } }),
      `${c0}.livenessProbe`,
      'must specify exactly one handler (exec, httpGet, tcpSocket or grpc): got exec, httpGet',
    );
  });

  test('a probe port is a number or a port name', () => {
    expectValid(probe({ httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' } }));
    expectProblem(probe({ httpGet: { port: 'HTTP_PORT' } }), `${c0}.livenessProbe.httpGet.port`, 'must be a port name');
    expectProblem(probe({ tcpSocket: { port: 0 } }), `${c0}.livenessProbe.tcpSocket.port`, 'must be greater than or equal to 1: current value is 0');
    expectProblem(probe({ tcpSocket: { port: true } }), `${c0}.livenessProbe.tcpSocket.port`, 'must be an integer or a string: current value is true');
  });
});

describe('volumes', () => {
  test('a volume mount must name a volume declared in the pod', () => {
    expectProblem(
      pod(`${c0}.volumeMounts`, [{ name: 'data', mountPath: '/data' }]),
      `${c0}.volumeMounts[0].name`,
      `must name a volume declared in the pod's volumes: current value is "data"`,
    );
    const ok = pod(`${c0}.volumeMounts`, [{ name: 'data', mountPath: '/data' }]);
    expectValid(set(ok, 'spec.volumes', [{ name: 'data', emptyDir: {} }]));
  });

  test('a volume needs exactly one source', () => {
    expectProblem(pod('spec.volumes', [{ name: 'v' }]), 'spec.volumes[0]', 'must specify exactly one volume source (emptyDir, hostPath, configMap or secret): none given');
    expectProblem(
      pod('spec.volumes', [{ name: 'v', emptyDir: {}, hostPath: { path: '/srv' } }]),
      'spec.volumes[0]',
      'must specify exactly one volume source (emptyDir, hostPath, configMap or secret): got emptyDir, hostPath',
    );
  });

  test('volume names are RFC 1123 labels and unique within the pod', () => {
    expectProblem(pod('spec.volumes', [{ name: 'My_Vol', emptyDir: {} }]), 'spec.volumes[0].name', 'RFC 1123 label');
    expectProblem(pod('spec.volumes', [{ name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }]), 'spec.volumes[1].name', 'must be unique within the pod');
  });

  test('mount paths are absolute and unique within a container; subPath is relative without ".."', () => {
    const obj = pod('spec.volumes', [{ name: 'v', emptyDir: {} }]);
    set(obj, `${c0}.volumeMounts`, [{ name: 'v', mountPath: 'data' }, { name: 'v', mountPath: '/x', subPath: '../etc' }, { name: 'v', mountPath: '/x' }]);
    const problems = problemsOf(obj);
    assert.ok(problems.some((p) => p.path === `${c0}.volumeMounts[0].mountPath` && p.message.includes('must be an absolute path')));
    assert.ok(problems.some((p) => p.path === `${c0}.volumeMounts[1].subPath` && p.message.includes("must not contain '..'")));
    assert.ok(problems.some((p) => p.path === `${c0}.volumeMounts[2].mountPath` && p.message.includes('must be unique within the container')));
  });

  test('hostPath type, configMap items and file modes are checked', () => {
    expectProblem(pod('spec.volumes', [{ name: 'v', hostPath: { path: '/srv', type: 'Folder' } }]), 'spec.volumes[0].hostPath.type', 'must be one of');
    expectProblem(pod('spec.volumes', [{ name: 'v', configMap: { name: 'cfg', defaultMode: 1000 } }]), 'spec.volumes[0].configMap.defaultMode', 'file mode between 0 and 0777');
    expectProblem(pod('spec.volumes', [{ name: 'v', secret: { secretName: 's', items: [{ key: 'a', path: '/abs' }] } }]), 'spec.volumes[0].secret.items[0].path', 'must be a relative path');
  });
});

describe('scheduling fields', () => {
  test('a toleration with operator Exists must not have a value', () => {
    expectProblem(pod('spec.tolerations', [{ key: 'dedicated', operator: 'Exists', value: 'x' }]), 'spec.tolerations[0].value', 'must be empty when operator is "Exists"');
  });

  test('a toleration without key must use operator Exists', () => {
    expectProblem(pod('spec.tolerations', [{ operator: 'Equal', value: 'x' }]), 'spec.tolerations[0].operator', 'must be "Exists" when key is empty');
  });

  test('nodeSelector follows label rules and terminationGracePeriodSeconds is non-negative', () => {
    expectProblem(pod('spec.nodeSelector', { 'kubernetes.io/arch': 'arm 64' }), 'spec.nodeSelector["kubernetes.io/arch"]', 'must be empty or consist');
    expectProblem(pod('spec.terminationGracePeriodSeconds', -5), 'spec.terminationGracePeriodSeconds', 'must be greater than or equal to 0');
  });
});

describe('init containers and sidecars', () => {
  test('an init container with restartPolicy Always (a native sidecar) is accepted', () => {
    expectValid(pod('spec.initContainers', [{ name: 'proxy', image: 'busybox', restartPolicy: 'Always', readinessProbe: { tcpSocket: { port: 80 } } }]));
  });

  test('an init container restartPolicy other than Always is refused', () => {
    expectProblem(pod('spec.initContainers', [{ name: 'setup', image: 'busybox', restartPolicy: 'OnFailure' }]), 'spec.initContainers[0].restartPolicy', 'Always');
  });

  test('an app container takes no restartPolicy', () => {
    expectProblem(pod(`${c0}.restartPolicy`, 'Always'), `${c0}.restartPolicy`, 'unknown field "restartPolicy"');
  });

  test('a regular init container may not have probes', () => {
    const obj = pod('spec.initContainers', [{ name: 'setup', image: 'busybox', livenessProbe: { exec: { command: ['true'] } } }]);
    expectProblem(obj, 'spec.initContainers[0].livenessProbe', 'must not be set for an init container unless its restartPolicy is "Always"');
  });
});

describe('grpc probes', () => {
  test('a grpc probe with a port and a service is accepted', () => {
    expectValid(pod(`${c0}.livenessProbe`, { grpc: { port: 9000, service: 'health' } }));
  });

  test('a startupProbe takes the same handlers, grpc included', () => {
    expectValid(pod(`${c0}.startupProbe`, { grpc: { port: 9000 }, failureThreshold: 30, periodSeconds: 2 }));
  });

  test('a grpc probe port must be a number in range', () => {
    expectProblem(pod(`${c0}.readinessProbe`, { grpc: { port: 70000 } }), `${c0}.readinessProbe.grpc.port`, 'must be less than or equal to 65535');
  });

  test('a grpc probe is one handler: it cannot be combined with another', () => {
    expectProblem(pod(`${c0}.readinessProbe`, { grpc: { port: 9000 }, tcpSocket: { port: 80 } }), `${c0}.readinessProbe`, 'got tcpSocket, grpc');
  });
});

describe('hostname and subdomain', () => {
  test('spec.hostname and spec.subdomain are RFC 1123 labels', () => {
    expectValid(set(pod('spec.hostname', 'web-0'), 'spec.subdomain', 'web'));
    expectProblem(pod('spec.hostname', 'Web.0'), 'spec.hostname', 'RFC 1123 label');
    expectProblem(pod('spec.subdomain', 'a.b'), 'spec.subdomain', 'RFC 1123 label');
  });
});
