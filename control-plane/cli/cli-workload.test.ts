import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../proto/util/errors.js';
import { resolveKind, type PodSpec } from '../../proto/model.js';
import { parseSetImageArgs, updateImages } from './cli-set-image.js';
import { parseReplicas } from './cli-scale.js';
import { qualifiedName, workloadTarget } from './cli-workload.js';

function spec(): PodSpec {
  return {
    initContainers: [{ name: 'setup', image: 'busybox:1' }],
    containers: [{ name: 'app', image: 'web:1' }, { name: 'sidecar', image: 'proxy:1' }],
  };
}

describe('set image arguments', () => {
  test('the words before the first CONTAINER=IMAGE name the object, in either form', () => {
    assert.deepEqual(parseSetImageArgs(['deploy/web', 'app=web:2']), { kind: 'deploy/web', name: undefined, updates: [{ container: 'app', image: 'web:2' }] });
    assert.deepEqual(parseSetImageArgs(['deployment', 'web', 'app=web:2', '*=x:1']), {
      kind: 'deployment', name: 'web', updates: [{ container: 'app', image: 'web:2' }, { container: '*', image: 'x:1' }],
    });
  });

  test('missing pieces are usage errors that say what to write', () => {
    assert.throws(() => parseSetImageArgs(['deploy/web']), (e: Error) => e instanceof UsageError && /at least one CONTAINER=IMAGE/.test(e.message));
    assert.throws(() => parseSetImageArgs(['app=web:2']), /needs an object first/);
    assert.throws(() => parseSetImageArgs(['deploy/web', 'app=']), /image for container "app" must be a non-empty/);
    assert.throws(() => parseSetImageArgs(['deploy/web', '=web:2']), /"=web:2" names no container/);
    assert.throws(() => parseSetImageArgs(['deploy/web', 'app=a', 'app=b']), /container "app" is given twice/);
  });
});

describe('updateImages', () => {
  test('sets the named containers, init containers included', () => {
    const s = spec();
    assert.equal(updateImages(s, [{ container: 'sidecar', image: 'proxy:2' }, { container: 'setup', image: 'busybox:2' }], 'deployment.apps/web'), true);
    assert.deepEqual(s, { initContainers: [{ name: 'setup', image: 'busybox:2' }], containers: [{ name: 'app', image: 'web:1' }, { name: 'sidecar', image: 'proxy:2' }] });
  });

  test('* sets every container', () => {
    const s = spec();
    updateImages(s, [{ container: '*', image: 'all:9' }], 'deployment.apps/web');
    assert.deepEqual([...s.initContainers!, ...s.containers].map((c) => c.image), ['all:9', 'all:9', 'all:9']);
  });

  test('an unknown container fails naming it and listing the containers there are', () => {
    assert.throws(
      () => updateImages(spec(), [{ container: 'ap', image: 'web:2' }], 'deployment.apps/web'),
      { message: 'deployment.apps/web has no container named "ap": its containers are app, sidecar; init containers: setup' },
    );
  });

  test('reports no change when the images are already those', () => {
    assert.equal(updateImages(spec(), [{ container: 'app', image: 'web:1' }], 'deployment.apps/web'), false);
  });
});

describe('scale arguments and workload names', () => {
  test('replica counts are whole numbers, 0 or more, and the error names the flag', () => {
    assert.equal(parseReplicas('0', '--replicas'), 0);
    assert.equal(parseReplicas('12', '--replicas'), 12);
    for (const bad of ['-1', '1.5', 'three', '']) {
      assert.throws(() => parseReplicas(bad, '--replicas'), (e: Error) => e instanceof UsageError && e.message.startsWith('--replicas must be a whole number'));
    }
    assert.throws(() => parseReplicas(undefined, '--replicas'), /--replicas is required/);
  });

  test('a command refuses kinds it does not handle, naming what it takes', () => {
    assert.throws(() => workloadTarget('scale', 'ds/agent', undefined, undefined, ['Deployment', 'ReplicaSet']), {
      message: 'scale supports deployments and replicasets: "ds/agent" is a DaemonSet',
    });
    assert.throws(() => workloadTarget('scale', 'deploy', undefined, undefined, ['Deployment']), /no name given: use `bramble scale deploy\/NAME`/);
    assert.deepEqual(workloadTarget('scale', 'rs', 'web-1', 'prod', ['ReplicaSet']), { kind: resolveKind('rs'), namespace: 'prod', name: 'web-1' });
  });

  test('objects are printed kubectl\'s way, with their API group', () => {
    assert.equal(qualifiedName(resolveKind('deploy')!, 'web'), 'deployment.apps/web');
    assert.equal(qualifiedName(resolveKind('ds')!, 'agent'), 'daemonset.apps/agent');
    assert.equal(qualifiedName(resolveKind('po')!, 'web-1'), 'pod/web-1');
  });
});
