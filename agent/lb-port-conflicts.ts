// Which LoadBalancer Service ports this board must leave alone: those a process on
// the board already holds (port-listeners.ts). Issue 9: a taken port is an event and
// a status condition, not a silent failure — the agent keeps its DNAT rule out (so
// the process keeps the port) and reports the conflict in its heartbeat; the control
// plane leaves the board out of the Service's ingress and says why.
import type { Service } from '../proto/model.js';
import type { PortConflict__Output } from '../proto/types.js';
import type { Clock, Timer } from '../proto/util/clock.js';
import { stableJson } from '../proto/util/json.js';
import type { Logger } from '../proto/util/log.js';
import { heldPorts, portKey, type ListenerReader } from './port-listeners.js';

export type LbPortConflict = PortConflict__Output & { protocol: 'TCP' | 'UDP' };

export interface LbPortCheck {
  /** One entry per Service port that clashes, sorted by namespace, service, protocol, port. */
  conflicts: LbPortConflict[];
  /** The held ports among them, once each: what the rules leave out. */
  blocked: { protocol: 'TCP' | 'UDP'; port: number }[];
}

const NONE: LbPortCheck = { conflicts: [], blocked: [] };

/**
 * The LoadBalancer ports of `services` that a listener holds on `addresses`. Only a
 * load-balancer board writes LoadBalancer rules, so only one can have a conflict.
 */
export function checkLoadBalancerPorts(services: readonly Service[], addresses: readonly string[], isLoadBalancerNode: boolean, listeners: ListenerReader): LbPortCheck {
  if (!isLoadBalancerNode) return NONE;
  const lb = services.filter((s) => s.spec?.type === 'LoadBalancer');
  if (lb.length === 0) return NONE;
  const held = heldPorts(listeners(), addresses);
  if (held.size === 0) return NONE;
  const conflicts: LbPortConflict[] = [];
  const blocked = new Map<string, { protocol: 'TCP' | 'UDP'; port: number }>();
  for (const svc of lb) {
    for (const p of svc.spec.ports ?? []) {
      const protocol = p.protocol === 'UDP' ? 'UDP' : 'TCP';
      const key = portKey(protocol, p.port);
      if (!held.has(key)) continue;
      conflicts.push({ namespace: svc.metadata.namespace ?? 'default', service: svc.metadata.name, protocol, port: p.port });
      blocked.set(key, { protocol, port: p.port });
    }
  }
  const order = (c: LbPortConflict): string => `${c.namespace}\u0000${c.service}\u0000${c.protocol}\u0000${String(c.port).padStart(5, '0')}`;
  conflicts.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  const blockedList = [...blocked.values()].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
  return { conflicts, blocked: blockedList };
}

export interface LbPortGuardOptions {
  listeners: ListenerReader;
  clock: Clock;
  /** Default 30 s. */
  intervalMs?: number;
  logger?: Logger;
  /** Called when a periodic check finds other ports held than the last check: the rules must be written again. */
  onBlockedChange: () => void;
}

export const DEFAULT_PORT_CHECK_INTERVAL_MS = 30_000;

/**
 * The last port check of a board, redone on every rule sync and every interval (a
 * process may take or free a port between network changes).
 */
export class LbPortGuard {
  private last: LbPortCheck = NONE;
  private inputs: { services: readonly Service[]; addresses: readonly string[]; isLoadBalancerNode: boolean } | undefined;
  private timer: Timer | undefined;

  constructor(private readonly opts: LbPortGuardOptions) {}

  start(): void {
    this.timer ??= this.opts.clock.setInterval(() => this.recheck(), this.opts.intervalMs ?? DEFAULT_PORT_CHECK_INTERVAL_MS);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Checks now for these Services; what a rule sync calls before it writes. */
  check(services: readonly Service[], addresses: readonly string[], isLoadBalancerNode: boolean): LbPortCheck {
    this.inputs = { services, addresses, isLoadBalancerNode };
    const next = checkLoadBalancerPorts(services, addresses, isLoadBalancerNode, this.opts.listeners);
    if (stableJson(next.conflicts) !== stableJson(this.last.conflicts) && next.conflicts.length > 0) {
      this.opts.logger?.warn({ conflicts: next.conflicts }, 'LoadBalancer ports held by a process on this board are left to it');
    }
    this.last = next;
    return next;
  }

  /** Checks again with the last Services; asks for a rule sync only when the blocked ports changed. */
  recheck(): void {
    if (!this.inputs) return;
    const before = stableJson(this.last.blocked);
    const next = checkLoadBalancerPorts(this.inputs.services, this.inputs.addresses, this.inputs.isLoadBalancerNode, this.opts.listeners);
    if (stableJson(next.blocked) !== before) this.opts.onBlockedChange();
    else this.last = next;
  }

  /** What the heartbeat reports. */
  conflicts(): LbPortConflict[] {
    return this.last.conflicts;
  }
}
