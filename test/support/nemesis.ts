// The nemesis of a fault test: a fixed schedule of faults against a FaultCluster,
// each held for a while, then healed, then a wait until the cluster has a leader
// again, so that every fault starts from a healthy cluster and a run is bounded
// in time. The seed picks which follower a fault hits; the log says what
// happened when, for the message of a failing test.
import { setTimeout as delay } from 'node:timers/promises';
import { seededRandom } from '../../control-plane/testing/store-workload.js';
import type { FaultCluster } from './fault-cluster.js';

export type FaultKind =
  | 'kill-leader' | 'pause-follower' | 'pause-leader' | 'partition-follower' | 'partition-leader'
  /** The leader hears nothing from the others and can still send to them. */
  | 'deafen-leader'
  | 'restart-follower';

export const DEFAULT_SCHEDULE: readonly FaultKind[] = [
  'kill-leader', 'pause-follower', 'partition-follower', 'restart-follower', 'partition-leader', 'pause-leader', 'deafen-leader', 'kill-leader',
];

/** How long the others may take to elect a leader once the leader is gone (the target is 2 s). */
const FAILOVER_DEADLINE_MS = 15_000;

export interface NemesisOptions {
  seed: number;
  schedule?: readonly FaultKind[];
  /** How long a fault lasts before it is healed (a kill: how long the member stays down). */
  holdMs?: number;
  /** Healthy time between two faults, so the load gets some work done. */
  quietMs?: number;
}

export class Nemesis {
  readonly log: string[] = [];
  private readonly t0 = Date.now();
  private readonly random: () => number;

  constructor(private readonly cluster: FaultCluster, private readonly opts: NemesisOptions) {
    this.random = seededRandom(opts.seed ^ 0x5eed);
  }

  describe(): string {
    return `nemesis seed ${this.opts.seed}, schedule ${(this.opts.schedule ?? DEFAULT_SCHEDULE).join(', ')}:\n  ${this.log.join('\n  ')}`;
  }

  private note(what: string): void {
    this.log.push(`+${((Date.now() - this.t0) / 1000).toFixed(1)}s ${what}`);
  }

  /**
   * Keeps the fault for `ms`; a fault that takes the leader away from the others
   * lasts at least until they elect another, so each such fault proves a failover.
   */
  private async hold(ms: number, fault: FaultKind, leader: string): Promise<void> {
    const started = Date.now();
    if (fault === 'kill-leader' || fault === 'pause-leader' || fault === 'partition-leader') {
      const others = this.cluster.up().filter((n) => n !== leader);
      const deadline = started + FAILOVER_DEADLINE_MS;
      for (;;) {
        const views = await Promise.all(others.map((n) => this.cluster.status(n).catch(() => undefined)));
        const next = views.find((v) => v && v.leader !== '' && v.leader !== leader)?.leader;
        if (next !== undefined) {
          this.note(`${next} leads after ${Date.now() - started} ms`);
          break;
        }
        if (Date.now() > deadline) throw new Error(`no member but ${leader} led within ${FAILOVER_DEADLINE_MS} ms of ${fault}\n${this.describe()}`);
        await delay(100);
      }
    }
    const left = started + ms - Date.now();
    if (left > 0) await delay(left);
  }

  async run(): Promise<void> {
    const hold = this.opts.holdMs ?? 3000;
    const quiet = this.opts.quietMs ?? 2000;
    for (const fault of this.opts.schedule ?? DEFAULT_SCHEDULE) {
      const leader = await this.cluster.leader();
      const followers = this.cluster.up().filter((n) => n !== leader).sort();
      const follower = followers[Math.floor(this.random() * followers.length)]!;
      const target = fault.endsWith('leader') ? leader : follower;
      this.note(`${fault} ${target} (leader ${leader})`);
      const m = this.cluster.member(target);
      // Healed even when the hold fails, so a failing run leaves a whole cluster to the next test.
      switch (fault) {
        case 'kill-leader':
          await m.server.kill();
          try {
            await this.hold(hold, fault, leader);
          } finally {
            await m.server.restart();
          }
          break;
        case 'pause-follower':
        case 'pause-leader':
          this.cluster.pause(target);
          try {
            await this.hold(hold, fault, leader);
          } finally {
            this.cluster.resume(target);
          }
          break;
        case 'partition-follower':
        case 'partition-leader':
        case 'deafen-leader':
          this.cluster.partition(target, { inboundOnly: fault === 'deafen-leader' });
          try {
            await this.hold(hold, fault, leader);
          } finally {
            this.cluster.heal(target);
          }
          break;
        case 'restart-follower':
          await m.server.restart();
          break;
      }
      this.note(`healed ${target}`);
      const after = await this.cluster.waitHealthy({ timeoutMs: 30_000 });
      this.note(`leader ${after.leader}`);
      await delay(quiet);
    }
  }
}
