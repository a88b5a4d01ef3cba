import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject, PodTemplateSpec } from '../../proto/model.js';
import { describeDaemonSet, describeDeployment, describeReplicaSet, splitReplicaSets } from './cli-describe-workloads.js';

const NOW = Date.parse('2026-01-01T01:00:00Z');

function template(image: string, hash?: string): PodTemplateSpec {
  return {
    metadata: { labels: { app: 'web', ...(hash && { 'pod-template-hash': hash }) } },
    spec: { initContainers: [{ name: 'setup', image: 'busybox:1' }], containers: [{ name: 'app', image, ports: [{ containerPort: 80 }] }] },
  };
}

const DEPLOYMENT: KObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web', namespace: 'default', uid: 'uid-web', creationTimestamp: '2026-01-01T00:00:00Z',
    labels: { app: 'web' }, annotations: { 'deployment.kubernetes.io/revision': '2' },
  },
  spec: { replicas: 4, selector: { matchLabels: { app: 'web' } }, strategy: { rollingUpdate: { maxSurge: 1 } }, template: template('web:2') },
  status: {
    observedGeneration: 2, replicas: 5, updatedReplicas: 3, readyReplicas: 4, availableReplicas: 4, unavailableReplicas: 1,
    conditions: [
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
      { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' },
    ],
  },
};

function replicaSet(hash: string, revision: string, image: string, replicas: number, current: number): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `web-${hash}`, namespace: 'default', uid: `uid-${hash}`, annotations: { 'deployment.kubernetes.io/revision': revision },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true }],
    },
    spec: { replicas, selector: { matchLabels: { app: 'web', 'pod-template-hash': hash } }, template: template(image, hash) },
    status: { replicas: current },
  };
}

function pod(name: string, phase: string, ready: boolean): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { containers: [{ name: 'app', image: 'web:2' }] },
    status: { phase, containerStatuses: [{ name: 'app', image: 'web:2', ready, restartCount: 0, state: {} }] },
  };
}

const NEW_RS = replicaSet('abc12', '2', 'web:2', 3, 3);
const OLD_RS = replicaSet('old99', '1', 'web:1', 2, 2);
const DRAINED_RS = replicaSet('gone1', '0', 'web:0', 0, 0);

describe('describe deployment', () => {
  const out = describeDeployment(DEPLOYMENT, { replicaSets: [DRAINED_RS, OLD_RS, NEW_RS], pods: [pod('web-abc12-x', 'Running', true)], now: NOW });

  test('shows kubectl\'s summary lines, the replica counts on one line and the rolling update limits', () => {
    for (const l of [
      'Name:                   web',
      'Namespace:              default',
      'CreationTimestamp:      2026-01-01T00:00:00Z',
      'Labels:                 app=web',
      'Annotations:            deployment.kubernetes.io/revision: 2',
      'Selector:               app=web',
      'Replicas:               4 desired | 3 updated | 5 total | 4 available | 1 unavailable',
      'StrategyType:           RollingUpdate',
      'MinReadySeconds:        0',
      'RollingUpdateStrategy:  25% max unavailable, 1 max surge',
    ]) assert.ok(out.includes(`${l}\n`), `${l} in\n${out}`);
  });

  test('shows the Pod template with init containers, the conditions table, the ReplicaSets and the Pods', () => {
    assert.match(out, /^Pod Template:\n {2}Labels: +app=web\n/m);
    assert.match(out, /^ {2}Init Containers:\n {3}setup:\n {4}Image: +busybox:1$/m);
    assert.match(out, /^ {2}Containers:\n {3}app:\n {4}Image: +web:2\n {4}Port: +80\/TCP$/m);
    assert.match(out, /^Conditions:\n {2}Type +Status +Reason\n {2}-+ +-+ +-+\n {2}Available +True +MinimumReplicasAvailable\n {2}Progressing +True +ReplicaSetUpdated\n/m);
    assert.match(out, /^OldReplicaSets: +web-old99 \(2\/2 replicas created\)$/m);
    assert.match(out, /^NewReplicaSet: +web-abc12 \(3\/3 replicas created\)$/m);
    assert.match(out, /^Pods:\n {2}NAME +READY +STATUS +RESTARTS +AGE\n {2}web-abc12-x +1\/1 +Running +0 +60m\n$/m);
  });

  test('a Deployment without status or ReplicaSets shows zeros and <none>', () => {
    const bare = describeDeployment({ ...DEPLOYMENT, status: undefined }, { replicaSets: [], pods: [], now: NOW });
    assert.match(bare, /^Replicas: +4 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable$/m);
    assert.match(bare, /^Conditions: +<none>$/m);
    assert.match(bare, /^NewReplicaSet: +<none>$/m);
    assert.match(bare, /^Pods: +<none>$/m);
  });

  test('the new ReplicaSet is the one running the current template, whatever its hash label', () => {
    const { newRs, oldRs } = splitReplicaSets(DEPLOYMENT, [OLD_RS, NEW_RS, DRAINED_RS]);
    assert.equal(newRs?.metadata.name, 'web-abc12');
    assert.deepEqual(oldRs.map((r) => r.metadata.name), ['web-old99'], 'old ReplicaSets scaled to zero are left out, as kubectl does');
  });
});

describe('describe replicaset and daemonset', () => {
  test('a ReplicaSet shows its owner, current / desired and the Pods by phase', () => {
    const out = describeReplicaSet(NEW_RS, { pods: [pod('a', 'Running', true), pod('b', 'Pending', false), pod('c', 'Failed', false)], now: NOW });
    assert.match(out, /^Selector: +app=web,pod-template-hash=abc12$/m);
    assert.match(out, /^Controlled By: +Deployment\/web$/m);
    assert.match(out, /^Replicas: +3 current \/ 3 desired$/m);
    assert.match(out, /^Pods Status: +1 Running \/ 1 Waiting \/ 0 Succeeded \/ 1 Failed$/m);
  });

  test('a DaemonSet shows the node counts of its status, 0 when missing', () => {
    const ds: KObject = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { ...template('agent:1'), spec: { ...template('agent:1').spec, nodeSelector: { disk: 'ssd' } } } },
      status: { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 1 },
    };
    const out = describeDaemonSet(ds, { pods: [pod('agent-1', 'Running', true)], now: NOW });
    assert.match(out, /^Node-Selector: +disk=ssd$/m);
    assert.match(out, /^Desired Number of Nodes Scheduled: +3$/m);
    assert.match(out, /^Number of Nodes Scheduled with Ready Pods: +2$/m);
    assert.match(out, /^Number of Nodes Scheduled with Up-to-date Pods: +1$/m);
    assert.match(out, /^Number of Nodes Scheduled with Available Pods: +0$/m);
    assert.match(out, /^Pods Status: +1 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m);
    assert.match(out, /^Pods:\n {2}NAME/m);
  });
});
