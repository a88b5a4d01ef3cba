// For tests: several RawNodes on an in-memory network, each with a MemoryStorage,
// driven step by step. Its host loop is the one raft-node.ts follows: persist the
// Ready (snapshot, entries, hardState), apply committed entries (conf changes
// through applyConfChange), then send. Links can be cut and messages filtered.
import { RawNode, type RaftConfig } from './raft-core.js';
import { MemoryStorage } from './raft-memory-storage.js';
import { decodeConfChange, type ConfState, type Entry, type Message, type NodeId, type Ready } from './raft-types.js';

/** A deterministic [0,1) source (mulberry32), so tests replay exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TestMember {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  confState?: ConfState;
  snapshots: number;
  /** The data of the last snapshot installed from the leader: the appliedData() before it, as JSON. */
  snapshotData?: string;
}

export class TestNetwork {
  readonly members = new Map<NodeId, TestMember>();
  /** Links that drop every message, as "from->to". */
  private readonly cut = new Set<string>();
  /** Return false to drop a message in flight. */
  filter: (m: Message) => boolean = () => true;
  /** Every message delivered (or dropped by a cut or the filter), in order. */
  readonly trace: Message[] = [];
  private seed = 1;

  constructor(voters: NodeId[], private readonly opts: Partial<RaftConfig> = {}) {
    for (const id of voters) this.add(id, MemoryStorage.bootstrap(voters));
  }

  add(id: NodeId, storage: MemoryStorage, extra: Partial<RaftConfig> = {}): TestMember {
    const node = new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1, random: seededRandom(this.seed++), ...this.opts, ...extra });
    const m: TestMember = { id, node, storage, applied: [], snapshots: 0 };
    this.members.set(id, m);
    return m;
  }

  /** Restarts a member from its storage (what survived), losing its volatile state. */
  restart(id: NodeId, extra: Partial<RaftConfig> = {}): TestMember {
    const old = this.member(id);
    const m = this.add(id, old.storage, extra);
    m.applied = old.applied;
    return m;
  }

  member(id: NodeId): TestMember {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  node(id: NodeId): RawNode {
    return this.member(id).node;
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}->${b}`);
    this.cut.add(`${b}->${a}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.members.keys()) if (other !== id) this.cutLink(id, other);
  }

  heal(): void {
    this.cut.clear();
  }

  /** The host loop for one member: returns the messages it would send. */
  handleReady(m: TestMember): Message[] {
    const rd: Ready = m.node.ready();
    if (rd.snapshot !== undefined) {
      m.storage.applySnapshot(rd.snapshot);
      m.confState = rd.snapshot.meta.confState;
      m.snapshots++;
      m.snapshotData = rd.snapshot.data;
    }
    m.storage.append(rd.entries);
    if (rd.hardState !== undefined) m.storage.setHardState(rd.hardState);
    for (const e of rd.committedEntries) {
      if (e.type === 'conf') m.confState = m.node.applyConfChange(decodeConfChange(e.data));
      m.applied.push(e);
    }
    m.node.advance(rd);
    return rd.messages;
  }

  /** Delivers messages (and everything they cause) until the network is quiet. */
  deliver(msgs: Message[] = []): void {
    const queue = [...msgs];
    for (let rounds = 0; ; rounds++) {
      if (rounds > 100_000) throw new Error('the network did not settle');
      for (const m of this.members.values()) {
        while (m.node.hasReady()) queue.push(...this.handleReady(m));
      }
      const next = queue.shift();
      if (next === undefined) return;
      this.trace.push(next);
      const dropped = this.cut.has(`${next.from}->${next.to}`) || !this.filter(next);
      const to = this.members.get(next.to);
      // The transport's duty: report every snapshot sent, or the leader waits for it forever.
      if (next.type === 'MsgSnap') this.members.get(next.from)?.node.reportSnapshot(next.to, !dropped && to !== undefined);
      if (dropped) continue;
      if (to !== undefined) to.node.step(next);
    }
  }

  /** Ticks every member once and settles. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const m of this.members.values()) m.node.tick();
      this.deliver();
    }
  }

  campaign(id: NodeId): void {
    this.node(id).campaign();
    this.deliver();
  }

  propose(id: NodeId, data: string): void {
    this.node(id).propose(data);
    this.deliver();
  }

  leader(): NodeId | undefined {
    for (const m of this.members.values()) if (m.node.status().role === 'leader') return m.id;
    return undefined;
  }

  /** Snapshots a member's applied state and drops its log up to there, as a host compacts. */
  compact(id: NodeId): void {
    const m = this.member(id);
    const st = m.node.status();
    if (st.applied <= m.storage.snapshot().meta.index) return;
    m.storage.createSnapshot(st.applied, st.confState, JSON.stringify(this.appliedData(id)));
    m.storage.compact(st.applied);
  }

  /** The data of the normal, non-empty entries a member applied. */
  appliedData(id: NodeId): string[] {
    return this.member(id).applied.filter((e) => e.type === 'normal' && e.data !== '').map((e) => e.data);
  }
}
