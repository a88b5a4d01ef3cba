import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HeartbeatRequest__Output } from '../../proto/types.js';
import type { NodeObject } from '../../proto/model.js';
import { nodeAfterHeartbeat } from './node-status.js';

const node: NodeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'pi-1', labels: {} }, spec: { podCIDR: '10.42.0.0/24' } };

function hb(memory: string, cpuPercent = 10): HeartbeatRequest__Output {
  return {
    nodeName: 'pi-1',
    info: { architecture: 'arm64', operatingSystem: 'linux', osImage: 'Debian 12', kernelVersion: '6.1', cpuModel: 'Cortex-A72', cpuCount: 4, boardModel: 'Raspberry Pi 4 Model B', agentVersion: '0.1.0', containerRuntimeVersion: 'containerd 1.6.20' },
    capacity: { cpu: '4', memory, pods: '110' },
    allocatable: { cpu: '3900m', memory, pods: '110' },
    addresses: [{ type: 'InternalIP', address: '192.0.2.10' }],
    figures: { name: 'pi-1', cpuPercent, memoryUsedBytes: 1, memoryTotalBytes: 2, temperatureCelsius: 50, hasTemperature: true, load1: 0.1 },
    pods: [],
    portConflicts: [],
    labels: { role: 'edge' },
  };
}

describe('nodeAfterHeartbeat', () => {
  test('the first heartbeat marks the node Ready and records capacity, info and labels', () => {
    const next = nodeAfterHeartbeat(node, hb('1Gi'), '2026-01-01T00:00:00.000Z');
    assert.ok(next);
    assert.equal(next.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    assert.equal(next.status?.capacity?.memory, '1Gi');
    assert.equal(next.metadata.labels?.['kubernetes.io/arch'], 'arm64');
    assert.equal(next.metadata.labels?.role, 'edge');
    assert.equal(next.status?.nodeInfo?.boardModel, 'Raspberry Pi 4 Model B');
  });

  test('a heartbeat that only changes live figures writes nothing', () => {
    const first = nodeAfterHeartbeat(node, hb('1Gi', 10), '2026-01-01T00:00:00.000Z')!;
    assert.equal(nodeAfterHeartbeat(first, hb('1Gi', 95), '2026-01-01T00:00:10.000Z'), undefined);
  });

  test('a change of capacity is written and keeps the Ready transition time', () => {
    const first = nodeAfterHeartbeat(node, hb('1Gi'), '2026-01-01T00:00:00.000Z')!;
    const next = nodeAfterHeartbeat(first, hb('2Gi'), '2026-01-01T00:05:00.000Z');
    assert.equal(next?.status?.capacity?.memory, '2Gi');
    assert.equal(next?.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, '2026-01-01T00:00:00.000Z');
  });
});
