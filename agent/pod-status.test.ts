import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, PodSpec } from '../proto/model.js';
import { computePodStatus, sameStatus, type StatusInput } from './pod-status.js';
import { LABEL_CONTAINER_NAME, LABEL_RESTART_COUNT, type ContainerInfo } from './runtime.js';

const T0 = Date.UTC(2026, 0, 1);
const pod = (spec: Partial<PodSpec> = {}): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u' },
  spec: { containers: [{ name: 'a', image: 'x:1' }, { name: 'b', image: 'x:1' }], ...spec },
});
const c = (name: string, restart: number, state: ContainerInfo['state'], exitCode?: number): ContainerInfo => ({
  id: `u-${name}-${restart}`, image: 'x:1', state, exitCode, startedAt: T0 + restart * 1000, finishedAt: state === 'stopped' ? T0 + restart * 1000 + 500 : undefined,
  labels: { [LABEL_CONTAINER_NAME]: name, [LABEL_RESTART_COUNT]: String(restart) },
});
const input = (p: Pod, containers: ContainerInfo[], over: Partial<StatusInput> = {}): StatusInput => ({
  pod: p, containers, waiting: new Map(), ready: () => true, podIP: '10.42.0.7', hostIP: '192.168.1.2', now: T0 + 60_000, ...over,
});

describe('computePodStatus', () => {
  test('Pending until every container has started once, then Running and Ready', () => {
    const s1 = computePodStatus(input(pod(), [c('a', 0, 'running')]));
    assert.equal(s1.phase, 'Pending');
    assert.equal(s1.containerStatuses![1]!.state.waiting?.reason, 'ContainerCreating');
    assert.equal(s1.conditions!.find((x) => x.type === 'Ready')?.message, 'containers with unready status: [b]');
    const s2 = computePodStatus(input(pod(), [c('a', 0, 'running'), c('b', 0, 'running')], { previous: s1, now: T0 + 120_000 }));
    assert.equal(s2.phase, 'Running');
    assert.equal(s2.podIP, '10.42.0.7');
    assert.deepEqual(s2.podIPs, [{ ip: '10.42.0.7' }]);
    assert.equal(s2.startTime, s1.startTime);
    const ready = s2.conditions!.find((x) => x.type === 'Ready')!;
    assert.equal(ready.status, 'True');
    assert.equal(ready.lastTransitionTime, new Date(T0 + 120_000).toISOString());
    assert.equal(s2.conditions!.find((x) => x.type === 'Initialized')?.lastTransitionTime, s1.conditions!.find((x) => x.type === 'Initialized')?.lastTransitionTime);
  });

  test('recomputing an unchanged pod later gives an equal status', () => {
    const cs = [c('a', 0, 'running'), c('b', 1, 'stopped', 1)];
    const s1 = computePodStatus(input(pod(), cs));
    const s2 = computePodStatus(input(pod(), cs, { previous: s1, now: T0 + 999_000 }));
    assert.ok(sameStatus(s1, s2));
    assert.ok(!sameStatus(s1, computePodStatus(input(pod(), cs, { previous: s1, ready: () => false }))));
  });

  test('a container in crash back-off waits with the reason and shows its last exit', () => {
    const waiting = new Map([['b', { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container=b' }]]);
    const s = computePodStatus(input(pod(), [c('a', 0, 'running'), c('b', 1, 'stopped', 2), c('b', 0, 'stopped', 2)], { waiting }));
    const b = s.containerStatuses![1]!;
    assert.equal(s.phase, 'Running');
    assert.equal(b.state.waiting?.reason, 'CrashLoopBackOff');
    assert.equal(b.lastState?.terminated?.exitCode, 2);
    assert.equal(b.lastState?.terminated?.finishedAt, new Date(T0 + 1500).toISOString());
    assert.equal(b.restartCount, 1);
    assert.equal(b.ready, false);
    assert.equal(b.containerID, 'containerd://u-b-1');
  });

  test('all exited 0 with OnFailure is Succeeded; a failure with Never is Failed; Always keeps Running', () => {
    const ok = [c('a', 0, 'stopped', 0), c('b', 0, 'stopped', 0)];
    const bad = [c('a', 0, 'stopped', 0), c('b', 0, 'stopped', 1)];
    assert.equal(computePodStatus(input(pod({ restartPolicy: 'OnFailure' }), ok)).phase, 'Succeeded');
    assert.equal(computePodStatus(input(pod({ restartPolicy: 'OnFailure' }), bad)).phase, 'Running');
    assert.equal(computePodStatus(input(pod({ restartPolicy: 'Never' }), bad)).phase, 'Failed');
    assert.equal(computePodStatus(input(pod({ restartPolicy: 'Always' }), ok)).phase, 'Running');
    assert.equal(computePodStatus(input(pod({ restartPolicy: 'Always' }), bad, { terminating: true })).phase, 'Failed');
    const done = computePodStatus(input(pod({ restartPolicy: 'Never' }), ok));
    assert.equal(done.containerStatuses![0]!.state.terminated?.reason, 'Completed');
    assert.equal(done.conditions!.find((x) => x.type === 'Ready')?.reason, 'PodCompleted');
  });

  test('PodScheduled is kept as the control plane set it', () => {
    const previous = { conditions: [{ type: 'PodScheduled', status: 'True' as const, lastTransitionTime: '2025-01-01T00:00:00.000Z' }] };
    const s = computePodStatus(input(pod(), [], { previous }));
    assert.deepEqual(s.conditions!.find((x) => x.type === 'PodScheduled'), previous.conditions[0]);
  });
});
