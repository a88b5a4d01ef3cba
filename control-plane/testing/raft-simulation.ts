// A deterministic simulation of Bramble's Raft core (issue 10, Tests): 3 or 5
// in-process replicas (SimHost, each a RawNode with a disk that loses what
// was not fsynced) on a fake network (SimNetwork) and a fake clock (ticks of
// ten units), driven by one seed. A nemesis cuts links (both ways or one,
// minority or majority), crashes replicas — also in the middle of an fsync —
// and restarts them, pauses them (a stopped process), makes the network lossy, duplicating and slow, slows
// disks, forces elections, transfers leadership and changes membership while
// clients propose unique values and ask for ReadIndex reads. RaftChecker
// checks the invariants at every step. Then the nemesis stops and everything
// heals: a leader must emerge and new proposals be applied everywhere within
// a bound. Product code never imports this file.
import { MemoryStorage } from '../raft/raft-memory-storage.js';
import type { ConfChange, Message, NodeId, ReadState } from '../raft/raft-types.js';
import { InvariantViolation, RaftChecker, type Invariant } from './raft-sim-checker.js';
import { EventQueue } from './raft-sim-events.js';
import { isRaftError, SimHost, type CoreFactory, type HostEnv, type SimCore, type SimNodeConfig } from './raft-sim-host.js';
import { nemesisStep, type NemesisTarget } from './raft-sim-nemesis.js';
import { CALM, SimNetwork, UNITS_PER_TICK } from './raft-sim-network.js';
import { SimRandom } from './raft-sim-random.js';

export type { CoreFactory, SimCore, SimNodeConfig } from './raft-sim-host.js';

export interface SimOptions {
  seed: number;
  createCore: CoreFactory;
  /** Keep a step trace (replaying a failing seed). */
  trace?: boolean;
  /** 3 or 5; by default the seed picks. */
  replicas?: number;
  /** Ticks of faults before everything heals; by default the seed picks in [120, 240]. */
  nemesisTicks?: number;
  /** Add learners, promote and remove members; default true. */
  membership?: boolean;
  /**
   * The state machine (with its snapshots and compaction) is synced on its own now and then, as if it lived
   * in another database than the log's hard state: a restart may find applied, or a snapshot, past the
   * durable commit index. Default false: one ordered log (a single LevelDB), where a later sync makes every
   * earlier write durable. See /work/sim-findings.md 07:10.
   */
  stateMachineSyncedAlone?: boolean;
  /** A broken disk for the harness's own tests: a restart finds no vote. */
  forgetVoteOnRestart?: boolean;
  /** A broken disk for the harness's own tests: messages go out before their Ready is durable. */
  lieAboutFsync?: boolean;
}

export interface SimStats {
  replicas: number;
  ticks: number;
  messages: number;
  lost: number;
  crashes: number;
  /** Crashes that took a Ready with them (between ready() and its fsync). */
  crashesInFsync: number;
  pauses: number;
  leaders: number;
  proposals: number;
  acked: number;
  reads: number;
  snapshots: number;
  confChanges: number;
  /** Ticks from healing to a leader every member follows. */
  healToLeader: number;
  /** Ticks from that leader to the proposals made then being applied by every member. */
  healToApplied: number;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  invariant?: Invariant;
  message?: string;
  tick: number;
  trace: string[];
  stats: SimStats;
}

export const ELECTION_TICK = 10;
export const HEARTBEAT_TICK = 1;
/** Liveness bounds after healing, in ticks. */
export const LEADER_BOUND = 30 * ELECTION_TICK;
export const APPLY_BOUND = 10 * ELECTION_TICK;
const LIVENESS_PROPOSALS = 3;
/** Units after which the transport gives up on a snapshot stream and reports it failed. */
const SNAPSHOT_TIMEOUT = 30 * UNITS_PER_TICK;

interface Read {
  host: NodeId;
  committedAtRequest: number;
}

class Simulation implements HostEnv, NemesisTarget {
  readonly checker = new RaftChecker();
  readonly tracing: boolean;
  readonly traceLines: string[] = [];
  readonly snapshotEvery: number;
  readonly keepEntries: number;
  readonly lieAboutFsync: boolean;
  private readonly rng: SimRandom;
  private readonly nemesisRng: SimRandom;
  private readonly clientRng: SimRandom;
  readonly network: SimNetwork;
  private readonly queue = new EventQueue();
  readonly hosts = new Map<NodeId, SimHost>();
  private readonly base: Omit<SimNodeConfig, 'id' | 'storage' | 'applied' | 'random'>;
  readonly membership: boolean;
  private readonly replicas: number;
  private readonly nemesisTicks: number;
  private readonly nemesisChance: number;
  private readonly proposeChance: number;
  private readonly reads = new Map<string, Read>();
  private now = 0;
  tick = 0;
  private valueSeq = 0;
  private readSeq = 0;
  private nextMember: number;
  private spawned = 0;
  private healTick = -1;
  private stableTick = -1;
  /**
   * Proposals made after healing, one slot each: its current value, and whether it is not yet sent, sent to
   * the leader, or accepted by the leader named in `by`. An accepted proposal is not a promise — a leader
   * deposed before replicating it loses it (a transfer's MsgTimeoutNow still in flight does that) — so the
   * client, as a real one would on its timeout, proposes the slot again as a new value to the new leader.
   */
  private readonly liveness: { value: string; state: 'new' | 'sent' | 'accepted'; by: string; attempts: number }[] = [];
  private done = false;
  readonly stats: SimStats;

  constructor(private readonly opts: SimOptions) {
    this.rng = new SimRandom(opts.seed);
    this.nemesisRng = this.rng.fork('nemesis');
    this.clientRng = this.rng.fork('clients');
    this.network = new SimNetwork(this.rng.fork('network'));
    this.tracing = opts.trace ?? false;
    this.lieAboutFsync = opts.lieAboutFsync ?? false;
    this.membership = opts.membership ?? true;
    const r = this.rng;
    this.replicas = opts.replicas ?? (r.chance(0.5) ? 3 : 5);
    this.nemesisTicks = opts.nemesisTicks ?? r.between(120, 240);
    this.nemesisChance = r.between(4, 15) / 100;
    this.proposeChance = r.between(15, 60) / 100;
    this.snapshotEvery = r.pick([6, 12, 30, Number.MAX_SAFE_INTEGER]);
    this.keepEntries = r.pick([0, 2, 5]);
    this.base = {
      electionTick: ELECTION_TICK,
      heartbeatTick: HEARTBEAT_TICK,
      preVote: r.chance(0.75),
      checkQuorum: r.chance(0.75),
      maxSizePerMsg: r.pick([64, 300, 4096, 1 << 20]),
      maxInflightMsgs: r.pick([1, 2, 8, 256]),
    };
    this.stats = {
      replicas: this.replicas, ticks: 0, messages: 0, lost: 0, crashes: 0, crashesInFsync: 0, pauses: 0, leaders: 0, proposals: 0, acked: 0, reads: 0, snapshots: 0, confChanges: 0,
      healToLeader: -1, healToApplied: -1,
    };
    const voters = Array.from({ length: this.replicas }, (_, i) => `n${i + 1}`);
    this.nextMember = this.replicas + 1;
    this.trace(`seed ${opts.seed}: ${this.replicas} replicas, ${this.nemesisTicks} ticks of faults, ${JSON.stringify({ ...this.base, snapshotEvery: this.snapshotEvery, keepEntries: this.keepEntries })}`);
    for (const id of voters) this.hosts.set(id, new SimHost(id, MemoryStorage.bootstrap(voters), this, this.rng.fork(id)));
  }

  trace(line: string): void {
    if (this.tracing) this.traceLines.push(`${this.tick}.${this.now % UNITS_PER_TICK} ${line}`);
  }

  schedule(units: number, fn: () => void): void {
    this.queue.push(this.now + units, fn);
  }

  run(): void {
    for (const h of this.hosts.values()) h.start(this.opts.createCore, this.base);
    while (!this.done) {
      if (this.now % UNITS_PER_TICK === 0) this.onTick();
      for (let fn = this.queue.popDue(this.now); fn !== undefined; fn = this.queue.popDue(this.now)) fn();
      this.now++;
      if (this.now % UNITS_PER_TICK === 0) this.tick++;
    }
  }

  collectStats(): void {
    this.stats.ticks = this.tick;
    this.stats.messages = this.network.sent;
    this.stats.lost = this.network.lost;
    this.stats.leaders = this.checker.leaderCount();
    this.stats.acked = this.checker.ackedValues().length;
    for (const h of this.hosts.values()) this.stats.snapshots += h.snapshotsInstalled;
  }

  upHosts(): SimHost[] {
    return [...this.hosts.values()].filter((h) => h.up);
  }

  private onTick(): void {
    for (const h of this.hosts.values()) {
      if (!h.up) continue;
      h.checkStatus();
      // A stopped process's timer does not pile up ticks; a little clock drift keeps timers out of lockstep.
      if (h.isPaused || (this.healTick < 0 && this.rng.chance(0.03))) continue;
      h.deliver((n) => n.tick());
      if (this.rng.chance(0.1)) h.flush(this.opts.stateMachineSyncedAlone === true && this.rng.chance(0.3));
    }
    if (this.healTick < 0) {
      if (this.tick >= this.nemesisTicks) this.heal();
      else {
        if (this.clientRng.chance(this.proposeChance)) this.clientPropose();
        if (this.clientRng.chance(0.05)) this.clientRead();
        if (this.nemesisRng.chance(this.nemesisChance)) nemesisStep(this, this.nemesisRng);
      }
    } else this.checkLiveness();
  }

  // ---- the network ----

  send(from: SimHost, msgs: Message[]): void {
    for (const m of msgs) {
      if (m.to === from.id || !this.hosts.has(m.to)) {
        this.trace(`${from.id} sends ${m.type} to ${m.to || 'nobody'}: dropped, not a replica`);
        continue;
      }
      const copies = this.network.deliveries(m);
      if (copies.length === 0) {
        this.trace(`${describe(m)}: lost`);
        if (m.type === 'MsgSnap') this.schedule(SNAPSHOT_TIMEOUT, () => this.report(m.from, (n) => n.reportSnapshot(m.to, false)));
      }
      copies.forEach((c, i) => {
        // The transport streams a snapshot and reports it (RawNode's duty): a stream that stalls past its timeout failed.
        if (m.type === 'MsgSnap' && c.delay > SNAPSHOT_TIMEOUT) {
          if (i === 0) this.schedule(SNAPSHOT_TIMEOUT, () => this.report(m.from, (n) => n.reportSnapshot(m.to, false)));
          return;
        }
        this.schedule(c.delay, () => this.deliverMessage(c.m, i === 0));
      });
    }
  }

  private report(to: NodeId, fn: (n: SimCore) => void): void {
    const h = this.hosts.get(to);
    if (h !== undefined) h.deliver(fn);
  }

  private deliverMessage(m: Message, first: boolean): void {
    const target = this.hosts.get(m.to);
    if (target === undefined || !target.up || this.network.isCut(m.from, m.to)) {
      this.trace(`${describe(m)}: dropped (${target?.up ? 'link cut' : 'replica down'})`);
      if (m.type === 'MsgSnap' && first) this.report(m.from, (n) => n.reportSnapshot(m.to, false));
      else if (this.rng.chance(0.3)) this.report(m.from, (n) => n.reportUnreachable(m.to));
      return;
    }
    if (this.tracing) this.trace(describe(m));
    target.deliver((n) => n.step(m));
    if (m.type === 'MsgSnap' && first) this.report(m.from, (n) => n.reportSnapshot(m.to, true));
  }

  // ---- clients ----

  private clientPropose(): void {
    const up = this.upHosts();
    if (up.length > 0) this.propose(this.clientRng.pick(up), `v${++this.valueSeq}`, 0);
  }

  /** A client's proposal; a follower's "not the leader" sends it (as a new value) to the leader it names. */
  private propose(h: SimHost, value: string, hops: number, onAccepted?: (ok: boolean) => void): void {
    this.stats.proposals++;
    h.deliver((n) => {
      try {
        n.propose(value);
      } catch (e) {
        if (!isRaftError(e)) throw e;
        this.trace(`${h.id} refuses ${value}: ${e.reason}`);
        onAccepted?.(false);
        const leader = this.hosts.get(e.leader);
        if (e.reason === 'not-leader' && leader !== undefined && hops < 2 && onAccepted === undefined) {
          this.schedule(this.clientRng.between(1, 5), () => this.propose(leader, `v${++this.valueSeq}`, hops + 1));
        }
        return;
      }
      h.proposed.add(value);
      onAccepted?.(true);
      this.trace(`${h.id} accepts ${value}`);
    });
  }

  clientRead(): void {
    const up = this.upHosts();
    if (up.length === 0) return;
    const h = this.clientRng.pick(up);
    const context = `r${++this.readSeq}`;
    h.deliver((n) => {
      this.reads.set(context, { host: h.id, committedAtRequest: this.checker.maxCommitted });
      try {
        n.readIndex(context);
        this.trace(`${h.id} asks for read ${context} (committed so far: ${this.checker.maxCommitted})`);
      } catch (e) {
        if (!isRaftError(e)) throw e;
        this.reads.delete(context);
      }
    });
  }

  onReadState(host: SimHost, rs: ReadState): void {
    const r = this.reads.get(rs.context);
    if (r === undefined || r.host !== host.id) {
      this.checker.fail('core contract', `${host.id} got a read state for ${rs.context}, which it never asked for`);
      return;
    }
    this.stats.reads++;
    this.trace(`${host.id} read ${rs.context} at ${rs.index}`);
    this.checker.onReadState(host.id, rs.context, rs.index, r.committedAtRequest);
  }

  onConfApplied(host: SimHost, cc: ConfChange): void {
    this.stats.confChanges++;
    if (cc.type !== 'remove') return;
    const gone = this.hosts.get(cc.node);
    if (gone === undefined || gone.removed) return;
    // The removed server shuts down once it learns; here as soon as the removal is applied anywhere.
    gone.removed = true;
    this.schedule(1, () => gone.crash());
  }

  // ---- what the nemesis acts on ----

  leaderHost(): SimHost | undefined {
    let best: SimHost | undefined;
    let term = -1;
    for (const h of this.hosts.values()) {
      const st = h.status();
      if (st !== undefined && st.role === 'leader' && st.term > term) {
        best = h;
        term = st.term;
      }
    }
    return best;
  }

  crash(h: SimHost): void {
    this.stats.crashes++;
    if (h.isBusy) this.stats.crashesInFsync++;
    h.crash();
    if (this.nemesisRng.chance(0.7)) {
      const inc = h.incarnation;
      this.schedule(this.nemesisRng.between(1, 60) * UNITS_PER_TICK, () => {
        if (h.incarnation === inc && !h.up && !h.removed) this.restart(h);
      });
    }
  }

  restart(h: SimHost): void {
    if (this.opts.forgetVoteOnRestart) h.disk.tamperHardState((hs) => ({ ...hs, vote: '' }));
    h.start(this.opts.createCore, this.base);
  }

  changeMembership(r: SimRandom): void {
    const gone = [...this.hosts.values()].filter((h) => h.removed && !h.up);
    if (gone.length > 0 && r.chance(0.5)) {
      // A removed member's stale process comes back for a while, with the log and config it had.
      const h = r.pick(gone);
      this.trace(`nemesis: the removed ${h.id} comes back`);
      h.start(this.opts.createCore, this.base);
      const inc = h.incarnation;
      this.schedule(r.between(5, 40) * UNITS_PER_TICK, () => {
        if (h.incarnation === inc) h.crash();
      });
      return;
    }
    const l = this.leaderHost();
    if (l === undefined) return;
    const st = l.status()!;
    const { voters, learners } = st.confState;
    let cc: ConfChange | undefined;
    if (learners.length > 0) {
      const x = r.pick(learners);
      const hx = this.hosts.get(x);
      if (hx !== undefined && hx.up && hx.sm.applied >= st.commit - 3) cc = { type: 'promote', node: x };
      else if (r.chance(0.3)) cc = { type: 'remove', node: x };
    } else if (voters.length <= this.replicas && this.spawned < 3 && !(voters.length > 3 && r.chance(0.3))) {
      const id = `n${this.nextMember++}`;
      this.spawned++;
      // A new replica starts empty, as `bramble server --join` does: no config until the leader's snapshot.
      const h = new SimHost(id, new MemoryStorage(), this, this.rng.fork(id));
      this.hosts.set(id, h);
      h.start(this.opts.createCore, this.base);
      cc = { type: 'addLearner', node: id, context: `${id}:7443` };
    } else if (voters.length > 3) {
      cc = { type: 'remove', node: r.chance(0.2) ? l.id : r.pick(voters.filter((v) => v !== l.id)) };
    }
    if (cc === undefined) return;
    const change = cc;
    this.trace(`nemesis: ${l.id} proposes ${change.type} ${change.node}`);
    l.deliver((n) => {
      try {
        n.proposeConfChange(change);
      } catch (e) {
        if (!isRaftError(e)) throw e;
        this.trace(`refused: ${e.reason}: ${e.message}`);
      }
    });
  }

  // ---- healing and liveness ----

  private heal(): void {
    this.healTick = this.tick;
    this.network.heal();
    this.network.conditions = { ...CALM };
    this.trace('heal: the nemesis stops, the network heals, every replica restarts');
    for (const h of this.hosts.values()) {
      h.fsyncUnits = [1, 6];
      h.resume();
      if (h.removed) h.crash();
      else if (!h.up) this.restart(h);
    }
  }

  private unappliedAcks(members: SimHost[]): string[] {
    const out: string[] = [];
    for (const h of members) {
      const have = new Set(h.sm.values);
      const missing = this.checker.ackedValues().filter((a) => !have.has(a.value));
      if (missing.length > 0) out.push(`${h.id} never applied ${missing.map((a) => a.value).slice(0, 10).join(', ')}`);
    }
    return out;
  }

  /** The members every up replica agrees on, led by one settled leader in one term; undefined while there is none. */
  private stableLeader(): { leader: SimHost; members: SimHost[] } | undefined {
    const l = this.leaderHost();
    if (l === undefined) return undefined;
    const st = l.status()!;
    // Settled: nothing of the leader's log is still uncommitted, so no membership change (its own removal, say) is in flight.
    if (st.commit !== st.lastIndex) return undefined;
    const members: SimHost[] = [];
    for (const id of [...st.confState.voters, ...st.confState.learners]) {
      const h = this.hosts.get(id);
      if (h === undefined || h.removed || !h.up) continue;
      const s = h.status()!;
      if (s.leader !== l.id || s.term !== st.term) return undefined;
      members.push(h);
    }
    return { leader: l, members };
  }

  private checkLiveness(): void {
    const stable = this.stableLeader();
    if (this.stableTick < 0) {
      if (stable === undefined) {
        if (this.tick - this.healTick > LEADER_BOUND) this.checker.fail('liveness', `no leader that every member follows ${LEADER_BOUND} ticks after healing`);
        return;
      }
      this.stableTick = this.tick;
      this.stats.healToLeader = this.tick - this.healTick;
      this.trace(`liveness: ${stable.leader.id} leads every member`);
      for (let i = 0; i < LIVENESS_PROPOSALS; i++) this.liveness.push({ value: `h${i + 1}`, state: 'new', by: '', attempts: 1 });
    }
    const waited = this.tick - this.stableTick;
    if (stable !== undefined) {
      const leader = stable.leader;
      const by = `${leader.id}@${leader.term}`;
      for (const slot of this.liveness) {
        if (slot.state === 'accepted' && slot.by !== by && !leader.sm.values.includes(slot.value)) {
          this.trace(`liveness: ${slot.value}, accepted by ${slot.by}, is not applied by the new leader ${by}: proposed again`);
          slot.value = `${slot.value.split('.')[0]}.${++slot.attempts}`;
          slot.state = 'new';
        }
        if (slot.state !== 'new') continue;
        slot.state = 'sent';
        const value = slot.value;
        this.propose(leader, value, 0, (ok) => {
          if (slot.value !== value) return;
          slot.state = ok ? 'accepted' : 'new';
          slot.by = by;
        });
      }
    }
    const members = stable?.members ?? [];
    const pending = this.liveness.filter((s) => s.state !== 'accepted' || members.some((h) => !h.sm.values.includes(s.value))).map((s) => s.value);
    // Every write acknowledged so far (some client calls of before the healing are answered after it) must be applied everywhere too.
    const unapplied = stable !== undefined && pending.length === 0 ? this.unappliedAcks(members) : [];
    if (stable !== undefined && pending.length === 0 && unapplied.length === 0) {
      this.stats.healToApplied = waited;
      this.done = true;
      return;
    }
    if (waited > APPLY_BOUND && unapplied.length > 0) {
      this.checker.fail('acknowledged write', `${unapplied.join('; ')}, ${APPLY_BOUND} ticks after a leader emerged from healing`);
    }
    if (waited > APPLY_BOUND) {
      this.checker.fail('liveness', `${pending.join(', ')}, proposed after healing, not applied by every member ${APPLY_BOUND} ticks later (members ${members.map((h) => h.id).join(',') || 'unknown'})`);
    }
  }
}

function describe(m: Message): string {
  const extra = m.type === 'MsgApp' ? ` prev ${m.index}/${m.logTerm} +${m.entries.length} commit ${m.commit}`
    : m.type === 'MsgAppResp' ? ` index ${m.index}${m.reject ? ` rejected, hint ${m.rejectHint}` : ''}`
      : m.type.endsWith('VoteResp') ? (m.reject ? ' rejected' : ' granted')
        : m.type === 'MsgSnap' ? ` at ${m.snapshot?.meta.index}` : '';
  return `${m.from} -> ${m.to} ${m.type} t${m.term}${extra}`;
}

export function runSimulation(opts: SimOptions): SimResult {
  const sim = new Simulation(opts);
  let failure: { invariant: Invariant; message: string } | undefined;
  try {
    sim.run();
  } catch (e) {
    failure = e instanceof InvariantViolation
      ? { invariant: e.invariant, message: e.message }
      : { invariant: 'core contract', message: `the core threw: ${(e as Error).stack ?? String(e)}` };
    sim.trace(`FAILED: ${failure.message}`);
  }
  sim.collectStats();
  return { seed: opts.seed, ok: failure === undefined, ...failure, tick: sim.tick, trace: sim.traceLines, stats: sim.stats };
}

/** The message a failing seed reports: the seed, the invariant, how to replay it and, when traced, the last steps. */
export function describeFailure(r: SimResult, traceLines = 400): string {
  const lines = [`seed ${r.seed} broke ${r.message}`, `replay: RAFT_SIM_SEED=${r.seed} node --test dist/control-plane/raft/raft-simulation.test.js`];
  if (r.trace.length > 0) {
    const tail = r.trace.slice(-traceLines);
    lines.push(`trace (last ${tail.length} of ${r.trace.length} steps, tick.unit):`, ...tail);
  }
  return lines.join('\n');
}
