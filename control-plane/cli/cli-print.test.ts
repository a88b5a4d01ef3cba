import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { resolveKind, type KindInfo, type KObject } from '../../proto/model.js';
import { age, humanDuration, printObjects, renderTable, type PrintRequest } from './cli-print.js';

const NOW = Date.parse('2026-01-10T12:00:00Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function kind(name: string): KindInfo {
  const k = resolveKind(name);
  assert.ok(k, `kind ${name} exists`);
  return k;
}

function created(msAgo: number): string {
  return new Date(NOW - msAgo).toISOString();
}

function deployment(name: string, namespace: string, msAgo: number, replicas: number, ready: number): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, creationTimestamp: created(msAgo) },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { spec: { containers: [{ name: 'main', image: `${name}:1` }] } } },
    status: { readyReplicas: ready, updatedReplicas: ready, availableReplicas: ready },
  };
}

function pod(name: string, msAgo: number, extra: Partial<KObject> = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', creationTimestamp: created(msAgo) },
    spec: { containers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox' }], nodeName: 'pi-1' },
    status: {
      phase: 'Running',
      podIP: '10.42.1.7',
      containerStatuses: [
        { name: 'a', image: 'busybox', ready: true, restartCount: 2, state: { running: { startedAt: created(msAgo) } } },
        { name: 'b', image: 'busybox', ready: false, restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } } },
      ],
    },
    ...extra,
  };
}

function request(partial: Partial<PrintRequest> & Pick<PrintRequest, 'kind' | 'objects'>): PrintRequest {
  return { output: 'table', allNamespaces: false, namespace: 'default', single: false, now: NOW, ...partial };
}

describe('humanDuration', () => {
  test('formats durations the way kubectl does', () => {
    const cases: [number, string][] = [
      [0, '0s'],
      [5 * SECOND, '5s'],
      [119 * SECOND, '119s'],
      [3 * MINUTE, '3m'],
      [3 * MINUTE + 20 * SECOND, '3m20s'],
      [15 * MINUTE, '15m'],
      [179 * MINUTE, '179m'],
      [5 * HOUR + 10 * MINUTE, '5h10m'],
      [30 * HOUR, '30h'],
      [2 * DAY, '2d'],
      [2 * DAY + 5 * HOUR, '2d5h'],
      [90 * DAY, '90d'],
      [3 * 365 * DAY + 30 * DAY, '3y30d'],
      [10 * 365 * DAY, '10y'],
      [-5 * SECOND, '<invalid>'],
    ];
    for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
  });

  test('age is "<unknown>" without a readable timestamp', () => {
    assert.equal(age(undefined, NOW), '<unknown>');
    assert.equal(age('yesterday', NOW), '<unknown>');
    assert.equal(age(created(3 * MINUTE), NOW), '3m');
  });
});

describe('tables', () => {
  test('columns are aligned three spaces apart and the last column is not padded', () => {
    const out = renderTable([
      ['NAME', 'READY', 'AGE'],
      ['a-long-name', '1/1', '5s'],
      ['b', '10/10', '2d'],
    ]);
    assert.equal(out, ['NAME          READY   AGE', 'a-long-name   1/1     5s', 'b             10/10   2d', ''].join('\n'));
  });

  test('deployments show ready/desired, up-to-date, available and age', () => {
    const p = printObjects(request({ kind: kind('deploy'), objects: [deployment('web', 'default', 5 * SECOND, 3, 2)] }));
    assert.equal(p.stderr, '');
    assert.equal(p.stdout, ['NAME   READY   UP-TO-DATE   AVAILABLE   AGE', 'web    2/3     2            2           5s', ''].join('\n'));
  });

  test('replicasets show desired, current, ready and age; wide adds containers, images and the selector', () => {
    const rs: KObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-7d4b9', namespace: 'default', creationTimestamp: created(5 * MINUTE) },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] },
        template: { spec: { containers: [{ name: 'main', image: 'web:1' }] } },
      },
      status: { replicas: 3, readyReplicas: 2 },
    };
    assert.equal(printObjects(request({ kind: kind('rs'), objects: [rs] })).stdout,
      'NAME        DESIRED   CURRENT   READY   AGE\nweb-7d4b9   3         3         2       5m\n');
    const wide = printObjects(request({ kind: kind('replicasets'), objects: [rs], output: 'wide' })).stdout.split('\n');
    assert.match(wide[0]!, /AGE   CONTAINERS   IMAGES   SELECTOR$/);
    assert.match(wide[1]!, /5m    main         web:1    app=web,tier in \(a,b\)$/);
  });

  test('deployments in wide add containers, images and the whole selector', () => {
    const wide = printObjects(request({ kind: kind('deploy'), objects: [deployment('web', 'default', 5 * SECOND, 3, 2)], output: 'wide' })).stdout.split('\n');
    assert.deepEqual(wide[0]!.split(/\s+/), ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
    assert.deepEqual(wide[1]!.split(/\s+/), ['web', '2/3', '2', '2', '5s', 'main', 'web:1', 'app=web']);
  });

  test('a deployment without status shows zero counts, and one replica when spec.replicas is absent', () => {
    const d: KObject = { ...deployment('bare', 'default', SECOND, 1, 0), status: undefined };
    delete (d.spec as { replicas?: number }).replicas;
    assert.deepEqual(printObjects(request({ kind: kind('deploy'), objects: [d] })).stdout.split('\n')[1]!.split(/\s+/), ['bare', '0/1', '0', '0', '1s']);
  });

  test('daemonsets show kubectl\'s columns, missing counts as 0; wide adds containers, images and the selector', () => {
    const ds = (status?: Record<string, number>): KObject => ({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: 'default', creationTimestamp: created(HOUR) },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: { spec: { nodeSelector: { disk: 'ssd' }, containers: [{ name: 'log', image: 'fluent:1' }] } },
      },
      ...(status && { status }),
    });
    const full = ds({ desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 1, numberAvailable: 2, numberMisscheduled: 0 });
    const table = printObjects(request({ kind: kind('ds'), objects: [full, { ...ds(), metadata: { ...ds().metadata, name: 'new' } }] })).stdout;
    assert.equal(table, [
      'NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR   AGE',
      'agent   3         3         2       1            2           disk=ssd        60m',
      'new     0         0         0       0            0           disk=ssd        60m',
      '',
    ].join('\n'));
    const wide = printObjects(request({ kind: kind('ds'), objects: [full], output: 'wide' })).stdout.split('\n');
    assert.match(wide[0]!, /NODE SELECTOR   AGE   CONTAINERS   IMAGES     SELECTOR$/);
    assert.match(wide[1]!, /disk=ssd        60m   log          fluent:1   app=agent$/);
  });

  test('pods show ready containers, the waiting reason, summed restarts; wide adds IP and NODE', () => {
    const narrow = printObjects(request({ kind: kind('po'), objects: [pod('web-1', 2 * DAY)] }));
    assert.deepEqual(narrow.stdout.split('\n')[0]!.split(/\s+/), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    assert.deepEqual(narrow.stdout.split('\n')[1]!.split(/\s+/), ['web-1', '1/2', 'CrashLoopBackOff', '3', '2d']);
    const wide = printObjects(request({ kind: kind('po'), objects: [pod('web-1', 2 * DAY)], output: 'wide' }));
    assert.deepEqual(wide.stdout.split('\n')[1]!.split(/\s+/), ['web-1', '1/2', 'CrashLoopBackOff', '3', '2d', '10.42.1.7', 'pi-1']);
  });

  test('a pod running its init containers shows Init:N/M, a failing one Init:REASON; sidecars count in READY', () => {
    const initializing = pod('setup', MINUTE, {
      spec: {
        initContainers: [{ name: 'proxy', image: 'busybox', restartPolicy: 'Always' }, { name: 'fetch', image: 'busybox' }, { name: 'migrate', image: 'busybox' }],
        containers: [{ name: 'a', image: 'busybox' }],
      },
      status: {
        phase: 'Pending',
        conditions: [{ type: 'Initialized', status: 'False' }],
        initContainerStatuses: [
          { name: 'proxy', image: 'busybox', ready: true, started: true, restartCount: 0, state: { running: { startedAt: created(MINUTE) } } },
          { name: 'fetch', image: 'busybox', ready: true, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: created(0) } } },
          { name: 'migrate', image: 'busybox', ready: false, restartCount: 0, state: { running: { startedAt: created(0) } } },
        ],
        containerStatuses: [{ name: 'a', image: 'busybox', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }],
      },
    });
    const row = (o: KObject): string[] => printObjects(request({ kind: kind('po'), objects: [o] })).stdout.split('\n')[1]!.split(/\s+/);
    assert.deepEqual(row(initializing).slice(0, 3), ['setup', '1/2', 'Init:2/3']);
    const crashing = structuredClone(initializing);
    (crashing.status as { initContainerStatuses: { state: object }[] }).initContainerStatuses[2]!.state = { waiting: { reason: 'CrashLoopBackOff' } };
    assert.equal(row(crashing)[2], 'Init:CrashLoopBackOff');
    const done = structuredClone(initializing);
    (done.status as { conditions: object[]; phase: string }).conditions = [{ type: 'Initialized', status: 'True' }];
    (done.status as { phase: string }).phase = 'Running';
    (done.status as { containerStatuses: object[] }).containerStatuses = [{ name: 'a', image: 'busybox', ready: true, restartCount: 0, state: { running: { startedAt: created(0) } } }];
    assert.deepEqual(row(done).slice(0, 3), ['setup', '2/2', 'Running']);
  });

  test('a pod being deleted shows Terminating', () => {
    const p = pod('old', MINUTE);
    p.metadata.deletionTimestamp = created(0);
    const out = printObjects(request({ kind: kind('pods'), objects: [p] }));
    assert.match(out.stdout, /old\s+1\/2\s+Terminating/);
  });

  test('-A adds a NAMESPACE column first', () => {
    const p = printObjects(
      request({
        kind: kind('deployments'),
        allNamespaces: true,
        objects: [deployment('web', 'default', 3 * MINUTE, 1, 1), deployment('db', 'prod', 3 * HOUR, 1, 0)],
      }),
    );
    const lines = p.stdout.trimEnd().split('\n');
    assert.deepEqual(lines[0]!.split(/\s+/), ['NAMESPACE', 'NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
    assert.deepEqual(lines[2]!.split(/\s+/), ['prod', 'db', '0/1', '0', '0', '3h']);
  });

  test('services list ports with node ports and protocol', () => {
    const svc: KObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default', creationTimestamp: created(MINUTE) },
      spec: { type: 'NodePort', clusterIP: '10.43.0.10', ports: [{ port: 80, nodePort: 30080 }, { port: 53, protocol: 'UDP' }] },
    };
    const out = printObjects(request({ kind: kind('svc'), objects: [svc] }));
    assert.deepEqual(out.stdout.split('\n')[0]!.split(/\s+/), ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
    assert.deepEqual(out.stdout.split('\n')[1]!.split(/\s+/), ['web', 'NodePort', '10.43.0.10', '<none>', '80:30080/TCP,53/UDP', '60s']);
  });

  test('a LoadBalancer Service shows its ingress addresses as EXTERNAL-IP, "<pending>" until it has some; -o wide adds the selector', () => {
    const lb = (ingress?: { ip: string }[]): KObject => ({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', creationTimestamp: created(MINUTE) },
      spec: { type: 'LoadBalancer', clusterIP: '10.43.0.7', selector: { app: 'web', tier: 'front' }, ports: [{ port: 80, nodePort: 30086 }] },
      ...(ingress ? { status: { loadBalancer: { ingress } } } : {}),
    });
    const row = (o: KObject, output: 'table' | 'wide' = 'table') => printObjects(request({ kind: kind('svc'), objects: [o], output })).stdout.split('\n')[1]!.split(/\s+/);
    assert.deepEqual(row(lb()), ['web', 'LoadBalancer', '10.43.0.7', '<pending>', '80:30086/TCP', '60s']);
    assert.deepEqual(row(lb([{ ip: '192.168.1.9' }, { ip: '192.168.1.10' }])), ['web', 'LoadBalancer', '10.43.0.7', '192.168.1.9,192.168.1.10', '80:30086/TCP', '60s']);
    assert.deepEqual(row(lb(), 'wide'), ['web', 'LoadBalancer', '10.43.0.7', '<pending>', '80:30086/TCP', '60s', 'app=web,tier=front']);
  });

  test('endpoints show up to three ready ip:port pairs and how many more, as kubectl does', () => {
    const ep = (subsets: unknown[]): KObject => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default', creationTimestamp: created(MINUTE) }, subsets });
    const row = (o: KObject) => printObjects(request({ kind: kind('ep'), objects: [o] })).stdout.split('\n');
    const out = row(ep([
      { addresses: [{ ip: '10.42.0.5' }, { ip: '10.42.1.4' }], ports: [{ port: 80 }] },
      { addresses: [{ ip: '10.42.2.3' }, { ip: '10.42.2.4' }], notReadyAddresses: [{ ip: '10.42.2.9' }], ports: [{ port: 8080 }] },
    ]));
    assert.deepEqual(out[0]!.split(/\s+/), ['NAME', 'ENDPOINTS', 'AGE']);
    assert.equal(out[1], 'web    10.42.0.5:80,10.42.1.4:80,10.42.2.3:8080 + 1 more...   60s');
    assert.match(row(ep([]))[1]!, /^web\s+<none>\s+60s$/);
    assert.match(row(ep([{ notReadyAddresses: [{ ip: '10.42.2.9' }], ports: [{ port: 80 }] }]))[1]!, /^web\s+<none>\s+60s$/);
  });

  test('configmaps and secrets count their keys', () => {
    const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { a: '1', b: '2' } };
    assert.match(printObjects(request({ kind: kind('cm'), objects: [cm] })).stdout, /cfg\s+2\s+<unknown>/);
    const secret: KObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: { p: 'eA==' } };
    assert.match(printObjects(request({ kind: kind('secret'), objects: [secret] })).stdout, /s\s+Opaque\s+1\s+<unknown>/);
  });

  test('nodes show "<unknown>" for figures not yet reported, and the figures once they are', () => {
    const node: KObject = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'pi-1', creationTimestamp: created(DAY * 3), labels: { 'node-role.kubernetes.io/control-plane': 'true' } },
      spec: {},
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v0.1.0', architecture: 'arm64' } },
    };
    const without = printObjects(request({ kind: kind('nodes'), objects: [node] }));
    assert.deepEqual(without.stdout.split('\n')[0]!.split(/\s+/), ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'ARCH', 'CPU%', 'MEM%', 'TEMP']);
    assert.deepEqual(without.stdout.split('\n')[1]!.split(/\s+/), ['pi-1', 'Ready', 'control-plane', '3d', 'v0.1.0', 'arm64', '<unknown>', '<unknown>', '<unknown>']);
    const figures = new Map([
      ['pi-1', { name: 'pi-1', cpuPercent: 12.4, memoryUsedBytes: 256, memoryTotalBytes: 1024, temperatureCelsius: 48.25, hasTemperature: true }],
    ]);
    const withFigures = printObjects(request({ kind: kind('nodes'), objects: [node], nodeFigures: figures }));
    assert.deepEqual(withFigures.stdout.split('\n')[1]!.split(/\s+/).slice(6), ['12%', '25%', '48.3°C']);
  });

  test('an empty list says so on stderr, naming the namespace', () => {
    const p = printObjects(request({ kind: kind('pods'), objects: [], namespace: 'prod' }));
    assert.equal(p.stdout, '');
    assert.equal(p.stderr, 'No resources found in prod namespace.\n');
    assert.equal(printObjects(request({ kind: kind('nodes'), objects: [] })).stderr, 'No resources found.\n');
    assert.equal(printObjects(request({ kind: kind('pods'), objects: [], allNamespaces: true })).stderr, 'No resources found.\n');
  });
});

describe('machine output', () => {
  const objects = [deployment('web', 'default', MINUTE, 1, 1), deployment('api', 'default', MINUTE, 2, 2)];

  test('-o json of a list is a v1 List of the items', () => {
    const p = printObjects(request({ kind: kind('deploy'), objects, output: 'json' }));
    assert.deepEqual(JSON.parse(p.stdout), { apiVersion: 'v1', kind: 'List', items: objects });
  });

  test('-o json of an empty list is an empty List, not a message', () => {
    const p = printObjects(request({ kind: kind('deploy'), objects: [], output: 'json' }));
    assert.deepEqual(JSON.parse(p.stdout), { apiVersion: 'v1', kind: 'List', items: [] });
    assert.equal(p.stderr, '');
  });

  test('-o yaml of one named object prints the object itself', () => {
    const p = printObjects(request({ kind: kind('deploy'), objects: [objects[0]!], output: 'yaml', single: true }));
    assert.deepEqual(parseYaml(p.stdout), objects[0]);
  });

  test('-o yaml of a list prints a List', () => {
    const p = printObjects(request({ kind: kind('deploy'), objects, output: 'yaml' }));
    assert.equal((parseYaml(p.stdout) as { kind: string }).kind, 'List');
  });

  test('-o name prints kind/name lines', () => {
    const p = printObjects(request({ kind: kind('deploy'), objects, output: 'name' }));
    assert.equal(p.stdout, 'deployment/web\ndeployment/api\n');
  });
});
