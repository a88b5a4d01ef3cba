import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { resolveKind, type Condition, type KObject } from '../../proto/model.js';
import type { ClusterConnection, WatchStream } from './cli-client.js';
import type { CliIo } from './cli-context.js';
import { daemonSetRolloutStatus, deploymentRolloutStatus, waitForRollout, type RolloutStatus } from './cli-rollout-status.js';

function deployment(generation: number, status: Record<string, unknown> | undefined, replicas = 4): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', generation },
    spec: { replicas, selector: { matchLabels: { app: 'web' } } },
    ...(status && { status }),
  };
}

function progressing(reason: string, status: Condition['status'] = 'True'): Condition[] {
  return [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }, { type: 'Progressing', status, reason }];
}

function daemonSet(generation: number, status: Record<string, unknown> | undefined, strategy?: string): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default', generation },
    spec: { selector: { matchLabels: { app: 'agent' } }, ...(strategy && { updateStrategy: { type: strategy } }) },
    ...(status && { status }),
  };
}

const line = (s: RolloutStatus): string => ('error' in s ? `error: ${s.error}` : `${s.done ? 'done' : 'wait'}: ${s.message}`);

describe('deploymentRolloutStatus follows kubectl through a rolling update', () => {
  test('a sequence of Deployment versions gives kubectl\'s lines in order, ending in success', () => {
    const versions = [
      deployment(2, { observedGeneration: 1, replicas: 4, updatedReplicas: 4, availableReplicas: 4 }),
      deployment(2, { observedGeneration: 2, replicas: 5, updatedReplicas: 1, availableReplicas: 3 }),
      deployment(2, { observedGeneration: 2, replicas: 5, updatedReplicas: 4, availableReplicas: 3 }),
      deployment(2, { observedGeneration: 2, replicas: 4, updatedReplicas: 4, availableReplicas: 3 }),
      deployment(2, { observedGeneration: 2, replicas: 4, updatedReplicas: 4, availableReplicas: 4, conditions: progressing('NewReplicaSetAvailable') }),
    ];
    assert.deepEqual(versions.map((d) => line(deploymentRolloutStatus(d))), [
      'wait: Waiting for deployment spec update to be observed...',
      'wait: Waiting for deployment "web" rollout to finish: 1 out of 4 new replicas have been updated...',
      'wait: Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
      'wait: Waiting for deployment "web" rollout to finish: 3 of 4 updated replicas are available...',
      'done: deployment "web" successfully rolled out',
    ]);
  });

  test('a Deployment nobody has reconciled (no status) waits for its spec to be observed', () => {
    assert.equal(line(deploymentRolloutStatus(deployment(1, undefined))), 'wait: Waiting for deployment spec update to be observed...');
  });

  test('ProgressDeadlineExceeded ends the wait with kubectl\'s error', () => {
    const d = deployment(3, { observedGeneration: 3, replicas: 4, updatedReplicas: 2, conditions: progressing('ProgressDeadlineExceeded', 'False') });
    assert.equal(line(deploymentRolloutStatus(d)), 'error: deployment "web" exceeded its progress deadline');
  });

  test('a paused Deployment (Progressing Unknown) is judged by its counts alone, as kubectl does', () => {
    const d = deployment(2, { observedGeneration: 2, replicas: 4, updatedReplicas: 0, conditions: progressing('DeploymentPaused', 'Unknown') });
    assert.equal(line(deploymentRolloutStatus(d)), 'wait: Waiting for deployment "web" rollout to finish: 0 out of 4 new replicas have been updated...');
  });

  test('missing counts are zero and an absent spec.replicas is one', () => {
    const d: KObject = { ...deployment(1, { observedGeneration: 1 }), spec: { selector: {} } };
    assert.equal(line(deploymentRolloutStatus(d)), 'wait: Waiting for deployment "web" rollout to finish: 0 out of 1 new replicas have been updated...');
  });

  test('a Deployment scaled to zero is rolled out once nothing is left', () => {
    assert.equal(line(deploymentRolloutStatus(deployment(5, { observedGeneration: 5 }, 0))), 'done: deployment "web" successfully rolled out');
  });
});

describe('daemonSetRolloutStatus follows kubectl', () => {
  test('a sequence of DaemonSet versions gives kubectl\'s lines, ending in success', () => {
    const versions = [
      daemonSet(2, { observedGeneration: 1, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 }),
      daemonSet(2, { observedGeneration: 2, desiredNumberScheduled: 2, updatedNumberScheduled: 1, numberAvailable: 1 }),
      daemonSet(2, { observedGeneration: 2, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 1 }),
      daemonSet(2, { observedGeneration: 2, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 }),
    ];
    assert.deepEqual(versions.map((d) => line(daemonSetRolloutStatus(d))), [
      'wait: Waiting for daemon set spec update to be observed...',
      'wait: Waiting for daemon set "agent" rollout to finish: 1 out of 2 new pods have been updated...',
      'wait: Waiting for daemon set "agent" rollout to finish: 1 of 2 updated pods are available...',
      'done: daemon set "agent" successfully rolled out',
    ]);
  });

  test('an OnDelete DaemonSet has no rollout to wait for', () => {
    assert.match(line(daemonSetRolloutStatus(daemonSet(1, { observedGeneration: 1 }, 'OnDelete'))), /^error: rollout status is only available for RollingUpdate strategy type/);
  });
});

/** A connection whose List answers `first` and whose Watch yields `events`, then waits until cancelled. */
function fakeConnection(first: KObject, events: KObject[]): ClusterConnection {
  const conn: Partial<ClusterConnection> = {
    list: async () => ({ objects: [JSON.stringify(first)], revision: 7 }),
    watch: (req) => {
      assert.equal(req.fromRevision, 7, 'the watch starts at the revision the list was read at');
      let release: () => void = () => undefined;
      const cancelled = new Promise<void>((r) => (release = r));
      async function* gen(): AsyncGenerator<{ type: string; object: string; revision: number }> {
        for (const e of events) yield { type: 'MODIFIED', object: JSON.stringify(e), revision: 8 };
        await cancelled;
      }
      return Object.assign(gen(), { cancel: () => release() }) as unknown as WatchStream;
    },
  };
  return conn as ClusterConnection;
}

function io(clock: FakeClock): CliIo & { out: string[] } {
  const out: string[] = [];
  return { out, stdout: { write: (t) => out.push(String(t)) }, stderr: { write: () => undefined }, stdin: process.stdin, env: {}, clock };
}

describe('waitForRollout', () => {
  const target = { kind: resolveKind('deploy')!, namespace: 'default', name: 'web' };

  test('prints each new status line once and ends when the watched Deployment has rolled out', async () => {
    const clock = new FakeClock();
    const sink = io(clock);
    const waiting = deployment(2, { observedGeneration: 2, replicas: 4, updatedReplicas: 1 });
    const done = deployment(2, { observedGeneration: 2, replicas: 4, updatedReplicas: 4, availableReplicas: 4 });
    const code = await waitForRollout(fakeConnection(deployment(2, undefined), [waiting, waiting, done]), sink, target, { timeoutMs: 0, watch: true });
    assert.equal(code, 0);
    assert.deepEqual(sink.out, [
      'Waiting for deployment spec update to be observed...\n',
      'Waiting for deployment "web" rollout to finish: 1 out of 4 new replicas have been updated...\n',
      'deployment "web" successfully rolled out\n',
    ]);
  });

  test('gives up at the deadline with a message naming the timeout and the last status', async () => {
    const clock = new FakeClock();
    const waiting = waitForRollout(fakeConnection(deployment(1, undefined), []), io(clock), target, { timeoutMs: 2000, watch: true });
    const outcome = waiting.then(() => 'resolved', (e: Error) => e.message);
    await clock.advance(2000);
    assert.equal(await outcome, 'timed out after 2s waiting for deployment "web" rollout to finish; last status: Waiting for deployment spec update to be observed...');
  });

  test('with watch off prints the status once and does not wait', async () => {
    const sink = io(new FakeClock());
    assert.equal(await waitForRollout(fakeConnection(deployment(1, undefined), []), sink, target, { timeoutMs: 0, watch: false }), 0);
    assert.deepEqual(sink.out, ['Waiting for deployment spec update to be observed...\n']);
  });
});
