// Turns a heartbeat into the Node's stored status. Heartbeats arrive every 10 s
// but the store (an SD card) is written only when something a person or the
// scheduler cares about changed: readiness, capacity, addresses, node info or
// labels. Live figures never reach this function's output.
import type { HeartbeatRequest__Output } from '../../proto/types.js';
import type { Condition, NodeObject, NodeStatus } from '../../proto/model.js';
import { ARCH_LABEL, HOSTNAME_LABEL, OS_LABEL } from '../../proto/model.js';
import { setCondition } from '../../proto/util/conditions.js';
import { stableJson } from '../../proto/util/json.js';

function resources(r: { cpu: string; memory: string; pods: string } | null): Record<string, string> | undefined {
  if (!r) return undefined;
  const out: Record<string, string> = {};
  if (r.cpu) out.cpu = r.cpu;
  if (r.memory) out.memory = r.memory;
  if (r.pods) out.pods = r.pods;
  return out;
}

/** The Node's conditions with Ready set to this status (dated as conditions.ts dates every condition). */
export function withReady(node: NodeObject, status: Condition['status'], reason: string, message: string, nowIso: string): Condition[] {
  return setCondition(node.status?.conditions, { type: 'Ready', status, reason, message }, nowIso);
}

/** The Node as it should be stored after this heartbeat, or undefined when nothing worth writing changed. */
export function nodeAfterHeartbeat(node: NodeObject, hb: HeartbeatRequest__Output, nowIso: string): NodeObject | undefined {
  const info = hb.info;
  const status: NodeStatus = {
    capacity: resources(hb.capacity),
    allocatable: resources(hb.allocatable),
    addresses: hb.addresses.map((a) => ({ type: a.type, address: a.address })),
    conditions: withReady(node, 'True', 'AgentReady', 'the Bramble agent is posting ready status', nowIso),
    nodeInfo: info
      ? {
          architecture: info.architecture,
          operatingSystem: info.operatingSystem,
          osImage: info.osImage,
          kernelVersion: info.kernelVersion,
          kubeletVersion: info.agentVersion,
          containerRuntimeVersion: info.containerRuntimeVersion,
          cpuModel: info.cpuModel || undefined,
          boardModel: info.boardModel || undefined,
        }
      : node.status?.nodeInfo,
  };
  const labels: Record<string, string> = {
    ...(node.metadata.labels ?? {}),
    ...hb.labels,
    [HOSTNAME_LABEL]: node.metadata.name,
  };
  if (info?.architecture) labels[ARCH_LABEL] = info.architecture;
  if (info?.operatingSystem) labels[OS_LABEL] = info.operatingSystem;
  const next: NodeObject = { ...node, metadata: { ...node.metadata, labels }, status: dropUndefined(status) };
  return stableJson(next.status) === stableJson(node.status) && stableJson(labels) === stableJson(node.metadata.labels ?? {})
    ? undefined
    : next;
}

function dropUndefined<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
