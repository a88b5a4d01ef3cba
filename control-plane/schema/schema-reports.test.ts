import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBrambleError } from '../../proto/util/errors.js';
import type { HeartbeatRequest__Output } from '../../proto/types.js';
import { checkPodStatus, heartbeatProblems } from './schema-reports.js';

const running = {
  phase: 'Running',
  conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00.000Z' }],
  podIP: '10.42.1.5',
  containerStatuses: [{ name: 'web', image: 'busybox', ready: true, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:00.000Z' } } }],
};

test('a status as the agent writes it is accepted unchanged', () => {
  assert.deepEqual(checkPodStatus(running, 'pod "default/web"'), running);
});

test('a status with wrong types is refused naming each field under status', () => {
  const bad = { phase: 'Dancing', containerStatuses: [{ name: 'web', image: 1, ready: 'yes', restartCount: -1, state: {} }] };
  assert.throws(() => checkPodStatus(bad, 'pod "default/web"'), (e) => {
    if (!isBrambleError(e, 'VALIDATION_FAILED')) return false;
    const paths = e.details.map((p) => p.path);
    return ['status.phase', 'status.containerStatuses[0].image', 'status.containerStatuses[0].ready', 'status.containerStatuses[0].restartCount'].every((p) => paths.includes(p));
  });
  for (const v of [5, 'x', null, []]) assert.throws(() => checkPodStatus(v, 'pod "default/web"'), (e) => isBrambleError(e, 'VALIDATION_FAILED'));
});

test('fields a newer agent adds are dropped, not stored', () => {
  assert.deepEqual(checkPodStatus({ ...running, qosClass: 'BestEffort' }, 'pod "default/web"'), running);
});

function heartbeat(over: Partial<HeartbeatRequest__Output> = {}): HeartbeatRequest__Output {
  return {
    nodeName: 'pi-1', labels: { disk: 'ssd' },
    info: { architecture: 'arm64', operatingSystem: 'linux', osImage: 'Debian', kernelVersion: '6.1', cpuModel: 'Cortex-A72', cpuCount: 4, boardModel: 'Raspberry Pi 4', agentVersion: '0.1.0', containerRuntimeVersion: 'containerd 1.6' },
    capacity: { cpu: '4', memory: '3900Mi', pods: '110' }, allocatable: { cpu: '4', memory: '3800Mi', pods: '110' },
    addresses: [{ type: 'InternalIP', address: '10.0.0.5' }],
    figures: { name: 'pi-1', cpuPercent: 3, memoryUsedBytes: 1000, memoryTotalBytes: 4000, temperatureCelsius: -5, hasTemperature: true, load1: 0.2 },
    pods: [],
    portConflicts: [],
    ...over,
  };
}

test('a heartbeat as the agent sends it has no problems, a cold board included', () => {
  assert.deepEqual(heartbeatProblems(heartbeat()), []);
});

test('a heartbeat with a bad label, address, quantity or figure names each field', () => {
  const problems = heartbeatProblems(heartbeat({
    labels: { 'café': 'x', ok: 'crème brûlée' },
    addresses: [{ type: 'Carrier pigeon', address: '' }],
    capacity: { cpu: 'lots', memory: '1Gi', pods: '' },
    figures: { name: 'pi-1', cpuPercent: Number.NaN, memoryUsedBytes: -1, memoryTotalBytes: 4000, temperatureCelsius: 40, hasTemperature: true, load1: Infinity },
  }));
  const paths = problems.map((p) => p.path);
  for (const p of ['labels', 'labels["ok"]', 'addresses[0].type', 'addresses[0].address', 'capacity.cpu', 'figures.cpuPercent', 'figures.memoryUsedBytes', 'figures.load1']) {
    assert.ok(paths.includes(p), `${p} missing from ${JSON.stringify(problems)}`);
  }
});

test('a heartbeat\'s port conflicts are accepted when well formed and refused naming the bad field', () => {
  const good = { namespace: 'default', service: 'web', protocol: 'TCP', port: 80 };
  assert.deepEqual(heartbeatProblems(heartbeat({ portConflicts: [good] })), []);
  const problems = heartbeatProblems(heartbeat({ portConflicts: [{ namespace: 'Not_A_Label', service: '', protocol: 'SCTP', port: 70000 }] }));
  assert.deepEqual(problems.map((p) => p.path), ['portConflicts[0].namespace', 'portConflicts[0].service', 'portConflicts[0].protocol', 'portConflicts[0].port']);
  assert.match(problems[3]!.message, /current value is 70000/);
  const many = heartbeatProblems(heartbeat({ portConflicts: Array.from({ length: 300 }, () => good) }));
  assert.deepEqual(many.map((p) => p.path), ['portConflicts']);
});
