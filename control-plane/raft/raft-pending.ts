// The promises a member hands out and settles from what its Readies say: writes
// (matched to their entries by request id, then by index), ReadIndex reads, and
// membership changes. Every promise settles: applied, refused, lost to a new
// leader's log, lost leadership, or a timeout on the injected clock.
import type { Clock, Timer } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import { unframeEntry, type ApplyResult } from './raft-state-machine.js';
import type { ConfState, Entry, ReadState } from './raft-types.js';

interface PendingProposal {
  id: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: Timer;
  /** Known once the leader appended it. */
  index?: number;
}

export interface ReadWaiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

interface PendingRead {
  waiters: ReadWaiter[];
  timer: Timer;
  index?: number;
}

interface PendingConf {
  data: string;
  resolve: (cs: ConfState) => void;
  reject: (e: Error) => void;
  timer: Timer;
}

function settleRead(r: PendingRead, err?: Error): void {
  r.timer.cancel();
  for (const w of r.waiters) {
    if (err) w.reject(err);
    else w.resolve();
  }
}

export class RaftPending {
  private readonly proposals = new Map<string, PendingProposal>();
  private readonly byIndex = new Map<number, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();
  private queued: ReadWaiter[] = [];
  private readonly confs = new Set<PendingConf>();

  constructor(private readonly clock: Clock, private readonly timeoutMs: number) {}

  /** A write just handed to the core under request id `id`. */
  proposal(id: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const p: PendingProposal = {
        id, resolve, reject,
        timer: this.clock.setTimeout(() => this.drop(p, new BrambleError('UNAVAILABLE',
          `the write was not applied within ${this.timeoutMs} ms (no quorum?); it may still commit`)), this.timeoutMs),
      };
      this.proposals.set(id, p);
    });
  }

  /** Learns where our writes went; those whose index a newer leader's entry took are lost. */
  trackAppended(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    for (const e of entries) {
      if (e.type !== 'normal' || e.data === '') continue;
      const p = this.proposals.get(unframeEntry(e.data).id);
      if (p && p.index === undefined) {
        p.index = e.index;
        this.byIndex.set(e.index, p);
      }
    }
    for (const [index, p] of this.byIndex) {
      if (index < first) continue;
      const e = entries[index - first];
      if (e && e.type === 'normal' && unframeEntry(e.data).id === p.id) continue;
      this.drop(p, new BrambleError('UNAVAILABLE', `the write was not committed: a new leader's log replaced entry ${index}; retry`));
    }
  }

  /** Settles the writes among `committed`, with the state machine's results by index. */
  applied(committed: readonly Entry[], results: ReadonlyMap<number, { id: string; result: ApplyResult }>): void {
    for (const e of committed) {
      const at = this.byIndex.get(e.index);
      const r = results.get(e.index);
      const p = r ? this.proposals.get(r.id) : undefined;
      if (at && at !== p) this.drop(at, new BrambleError('UNAVAILABLE', `the write was not committed: another entry was committed at ${e.index}; retry`));
      if (!p || !r) continue;
      this.forget(p);
      if (r.result.ok) p.resolve(r.result.value);
      else p.reject(r.result.error);
    }
  }

  rejectProposals(err: Error): void {
    for (const p of [...this.proposals.values()]) this.drop(p, err);
  }

  /** Queues a read; true when it is the first of its turn (the caller sends the ReadIndex then). */
  queueRead(w: ReadWaiter): boolean {
    this.queued.push(w);
    return this.queued.length === 1;
  }

  takeQueuedReads(): ReadWaiter[] {
    return this.queued.splice(0);
  }

  readSent(context: string, waiters: ReadWaiter[]): void {
    const r: PendingRead = {
      waiters,
      timer: this.clock.setTimeout(() => {
        this.reads.delete(context);
        settleRead(r, new BrambleError('UNAVAILABLE', `the leader did not confirm a read within ${this.timeoutMs} ms (no quorum?)`));
      }, this.timeoutMs),
    };
    this.reads.set(context, r);
  }

  /** A read that needs no confirmation from the others: it waits only until `index` is applied here. */
  localRead(context: string, index: number, w: ReadWaiter): void {
    this.readSent(context, [w]);
    this.reads.get(context)!.index = index;
  }

  readStates(states: readonly ReadState[]): void {
    for (const rs of states) {
      const r = this.reads.get(rs.context);
      if (r) r.index = rs.index;
    }
  }

  /** The core drops reads it has not answered when the leader changes. */
  leaderChanged(leader: string): void {
    for (const [ctx, r] of this.reads) {
      if (r.index !== undefined) continue;
      this.reads.delete(ctx);
      settleRead(r, new BrambleError('UNAVAILABLE', `the leader changed before the read was confirmed (now ${leader || 'none'}): retry`));
    }
  }

  settleReads(applied: number): void {
    for (const [ctx, r] of this.reads) {
      if (r.index === undefined || r.index > applied) continue;
      this.reads.delete(ctx);
      settleRead(r);
    }
  }

  /** A membership change just handed to the core, as its entry's data. */
  confChange(data: string): Promise<ConfState> {
    return new Promise((resolve, reject) => {
      const p: PendingConf = {
        data, resolve, reject,
        timer: this.clock.setTimeout(() => {
          this.confs.delete(p);
          reject(new BrambleError('UNAVAILABLE', `the membership change was not applied within ${this.timeoutMs} ms; it may still commit`));
        }, this.timeoutMs),
      };
      this.confs.add(p);
    });
  }

  confApplied(data: string, cs: ConfState): void {
    for (const p of this.confs) {
      if (p.data !== data) continue;
      this.confs.delete(p);
      p.timer.cancel();
      p.resolve(cs);
      return;
    }
  }

  rejectAll(err: Error): void {
    this.rejectProposals(err);
    for (const r of this.reads.values()) settleRead(r, err);
    this.reads.clear();
    for (const w of this.queued.splice(0)) w.reject(err);
    for (const c of this.confs) {
      c.timer.cancel();
      c.reject(err);
    }
    this.confs.clear();
  }

  private forget(p: PendingProposal): void {
    p.timer.cancel();
    this.proposals.delete(p.id);
    if (p.index !== undefined && this.byIndex.get(p.index) === p) this.byIndex.delete(p.index);
  }

  private drop(p: PendingProposal, err: Error): void {
    if (!this.proposals.has(p.id)) return;
    this.forget(p);
    p.reject(err);
  }
}
