import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod, PodSpec } from '../proto/model.js';
import { attemptsByName, buildContainerSpec, formatDuration, graceSecondsOf, planPod, planTeardown, pullPolicyOf, shouldRestart, type PlanInput } from './pod-plan.js';
import { LABEL_CONTAINER_NAME, LABEL_POD_UID, LABEL_RESTART_COUNT, type ContainerInfo } from './runtime.js';

const uid = 'abcdef012345-6789';
const pod = (spec: Partial<PodSpec> = {}): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid },
  spec: { containers: [{ name: 'app', image: 'busybox:1.36' }], ...spec },
});
const attempt = (name: string, restart: number, state: ContainerInfo['state'], exitCode?: number): ContainerInfo => ({
  id: `abcdef012345-${name}-${restart}`, image: 'busybox:1.36', state, exitCode, startedAt: 0, finishedAt: state === 'stopped' ? 1000 : undefined,
  labels: { [LABEL_POD_UID]: uid, [LABEL_CONTAINER_NAME]: name, [LABEL_RESTART_COUNT]: String(restart) },
});
const input = (p: Pod, containers: ContainerInfo[], over: Partial<PlanInput> = {}): PlanInput => ({
  pod: p, containers, backoff: () => ({ remainingMs: 0, delayMs: 10_000 }), livenessFailed: () => false, ...over,
});

describe('pod plan', () => {
  test('the pull policy defaults to Always for latest or untagged images, IfNotPresent otherwise', () => {
    const c = (image: string, imagePullPolicy?: Container['imagePullPolicy']): Container => ({ name: 'a', image, imagePullPolicy });
    assert.equal(pullPolicyOf(c('busybox')), 'Always');
    assert.equal(pullPolicyOf(c('busybox:latest')), 'Always');
    assert.equal(pullPolicyOf(c('registry.local:5000/busybox')), 'Always');
    assert.equal(pullPolicyOf(c('registry.local:5000/busybox:1.36')), 'IfNotPresent');
    assert.equal(pullPolicyOf(c('busybox@sha256:abc')), 'IfNotPresent');
    assert.equal(pullPolicyOf(c('busybox', 'Never')), 'Never');
  });

  test('restart policies decide which exits restart', () => {
    assert.deepEqual([shouldRestart(undefined, 0), shouldRestart('Always', 0), shouldRestart('OnFailure', 0), shouldRestart('OnFailure', 2), shouldRestart('Never', 2)], [true, true, false, true, false]);
  });

  test('the container spec carries id, labels, limits, netns and log path', () => {
    const c: Container = { name: 'web', image: 'nginx:1', command: ['nginx'], resources: { limits: { memory: '128Mi', cpu: '1.5' } } };
    const spec = buildContainerSpec(pod(), c, 4, { env: { A: '1' }, mounts: [], netnsPath: '/var/run/netns/x', logPath: '/l/4.log' });
    assert.equal(spec.id, 'abcdef012345-web-4');
    assert.equal(spec.labels[LABEL_RESTART_COUNT], '4');
    assert.equal(spec.memoryLimitBytes, 128 * 1024 * 1024);
    assert.equal(spec.cpuLimitMillis, 1500);
    assert.equal(spec.netnsPath, '/var/run/netns/x');
    assert.equal(spec.hostname, 'p');
  });

  test('every container of a Pod, and every restart of it, is in the shim group named by the Pod uid', () => {
    const web = buildContainerSpec(pod(), { name: 'web', image: 'nginx:1' }, 0, { env: {}, mounts: [], logPath: '/l/0.log' });
    const side = buildContainerSpec(pod(), { name: 'side', image: 'busybox:1' }, 7, { env: {}, mounts: [], logPath: '/l/7.log' });
    assert.equal(web.shimGroup, `pod-${uid}`);
    assert.equal(side.shimGroup, web.shimGroup);
  });

  test('a pod with no containers yet starts each at restart 0', () => {
    const p = pod({ containers: [{ name: 'a', image: 'x:1' }, { name: 'b', image: 'x:1' }] });
    assert.deepEqual(planPod(input(p, [])).map((a) => (a.kind === 'start' ? `${a.container.name}@${a.restartCount}` : a.kind)), ['a@0', 'b@0']);
  });

  test('a running container is left alone unless its liveness failed', () => {
    const running = [attempt('app', 2, 'running')];
    assert.deepEqual(planPod(input(pod(), running)), []);
    assert.deepEqual(planPod(input(pod({ terminationGracePeriodSeconds: 5 }), running, { livenessFailed: () => true })), [
      { kind: 'kill', id: 'abcdef012345-app-2', container: 'app', graceSeconds: 5, reason: 'liveness probe failed' },
    ]);
  });

  test('an exited container waits out the back-off, then restarts with the next count and drops the older dead attempt', () => {
    const cs = [attempt('app', 0, 'stopped', 1), attempt('app', 1, 'stopped', 1)];
    const waiting = planPod(input(pod(), cs, { backoff: () => ({ remainingMs: 4000, delayMs: 20_000 }) }));
    assert.equal(waiting.length, 1);
    assert.equal(waiting[0]!.kind, 'backoff');
    assert.equal(waiting[0]!.kind === 'backoff' && waiting[0]!.message, `back-off 20s restarting failed container=app pod=p_default(${uid})`);
    const go = planPod(input(pod(), cs));
    assert.deepEqual(go.map((a) => (a.kind === 'start' ? `start@${a.restartCount}` : `${a.kind} ${'id' in a ? a.id : ''}`)), ['remove abcdef012345-app-0', 'start@2']);
  });

  test('OnFailure leaves an exit 0 alone, Never leaves any exit alone', () => {
    assert.deepEqual(planPod(input(pod({ restartPolicy: 'OnFailure' }), [attempt('app', 0, 'stopped', 0)])), []);
    assert.deepEqual(planPod(input(pod({ restartPolicy: 'Never' }), [attempt('app', 0, 'stopped', 1)])), []);
  });

  test('a created but never started attempt is replaced under the same count; unknown names are torn down', () => {
    const plan = planPod(input(pod(), [attempt('app', 3, 'created'), attempt('old', 0, 'running')]));
    assert.deepEqual(plan.map((a) => a.kind), ['kill', 'remove', 'remove', 'start']);
    assert.equal(plan[3]!.kind === 'start' && plan[3]!.restartCount, 3);
  });

  test('teardown kills the running containers and removes all', () => {
    const plan = planTeardown([attempt('a', 0, 'running'), attempt('b', 0, 'stopped', 0)], 9);
    assert.deepEqual(plan.map((a) => `${a.kind}:${'id' in a ? a.id : ''}`), ['kill:abcdef012345-a-0', 'remove:abcdef012345-a-0', 'remove:abcdef012345-b-0']);
    assert.equal(plan[0]!.kind === 'kill' && plan[0]!.graceSeconds, 9);
  });

  test('attempts are grouped newest first and durations print as Go does', () => {
    const g = attemptsByName([attempt('a', 0, 'stopped', 1), attempt('a', 2, 'running'), attempt('a', 1, 'stopped', 1)]).get('a')!;
    assert.deepEqual([g.latest?.id, g.previous?.id, g.older.map((c) => c.id), g.restartCount], ['abcdef012345-a-2', 'abcdef012345-a-1', ['abcdef012345-a-0'], 2]);
    assert.deepEqual([formatDuration(10_000), formatDuration(160_000), formatDuration(300_000)], ['10s', '2m40s', '5m0s']);
  });
});

describe('grace period of a stop', () => {
  const pod = (spec?: number, deletion?: number): Pod => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'p', ...(deletion !== undefined ? { deletionGracePeriodSeconds: deletion } : {}) },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...(spec !== undefined ? { terminationGracePeriodSeconds: spec } : {}) },
  });

  test('a delete\'s own grace period (drain --grace-period) wins over the Pod\'s terminationGracePeriodSeconds', () => {
    assert.equal(graceSecondsOf(pod(30, 5)), 5);
    assert.equal(graceSecondsOf(pod(30)), 30);
    assert.equal(graceSecondsOf(pod()), 30, 'Kubernetes\' default');
  });
});
