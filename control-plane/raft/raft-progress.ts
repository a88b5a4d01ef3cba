// What a leader knows of one follower's log and how it sends to it (flow
// control), as etcd-io/raft's tracker.Progress and tracker.Inflights.
//
// probe: the leader does not know where the follower's log ends; it sends one
//   MsgApp at a time and waits for the answer (or a heartbeat response).
// replicate: the follower is known to match up to `match`; the leader streams
//   entries optimistically, up to maxInflight unacknowledged MsgApps.
// snapshot: the follower needs a snapshot; nothing else is sent until it is
//   reported delivered or failed.

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** The window of MsgApps sent and not yet acknowledged, each named by its last index. */
export class Inflights {
  private buf: number[] = [];
  private start = 0;

  constructor(readonly size: number) {}

  add(lastIndex: number): void {
    if (this.full()) throw new Error('cannot add to a full inflights window');
    this.buf.push(lastIndex);
  }

  /** Frees every message whose last index is <= `index` (the follower acknowledged up to it). */
  freeLE(index: number): void {
    while (this.start < this.buf.length && this.buf[this.start]! <= index) this.start++;
    if (this.start === this.buf.length) {
      this.buf = [];
      this.start = 0;
    } else if (this.start > this.size) {
      this.buf = this.buf.slice(this.start);
      this.start = 0;
    }
  }

  count(): number {
    return this.buf.length - this.start;
  }

  full(): boolean {
    return this.count() >= this.size;
  }

  reset(): void {
    this.buf = [];
    this.start = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In 'snapshot': the index of the snapshot sent; the follower then probes from after it. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round (a new member starts active so it is not counted down at once). */
  recentActive = true;
  /** In 'probe': a probe is outstanding; in 'replicate': the window is full. */
  msgAppFlowPaused = false;
  /** The commit index last sent to this follower, so an idle follower learns a new commit once. */
  sentCommit = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, public isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      // The follower has (or will have) the snapshot: probe from after it, not from our stale match.
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** A MsgApp with `entries` entries went out, the last at next+entries-1. */
  sentEntries(entries: number): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        this.next += entries;
        this.inflights.add(this.next - 1);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === 'probe') {
      this.msgAppFlowPaused = true;
    }
  }

  /** The last commit index sent (a heartbeat may send a lower one: min(match, commit)). */
  sentCommitIndex(commit: number): void {
    this.sentCommit = commit;
  }

  /** Whether an (empty) MsgApp with `commit` could move the follower's commit index: not once it was sent up to next-1. */
  canBumpCommit(commit: number): boolean {
    return commit > this.sentCommit && this.sentCommit < this.next - 1;
  }

  /** The follower acknowledged entries up to n; returns whether match moved. */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false;
    this.match = n;
    this.next = Math.max(this.next, n + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * The follower rejected the MsgApp after `rejected`, hinting that its log may
   * match ours up to `matchHint`. Returns false for a stale rejection (one that
   * does not concern the last probe, or is below what it already matched).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
      case 'replicate':
        return this.msgAppFlowPaused;
      case 'snapshot':
        return true;
    }
  }
}
