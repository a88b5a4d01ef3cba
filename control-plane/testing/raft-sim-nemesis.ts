// The nemesis of the Raft simulation: at random ticks one fault from a
// weighted menu — cut links (a random split, the leader alone, one replica
// deaf or mute, single one-way links), heal them, crash a replica (often the
// leader, or one in the middle of an fsync), restart every crashed one, make
// the network lossy, duplicating and slow, slow a disk, pause a replica (a
// stopped process), transfer leadership, force an election, read, change
// membership. It draws only from the random stream it is given.
import type { NodeId } from '../raft/raft-types.js';
import { isRaftError, type SimHost } from './raft-sim-host.js';
import { UNITS_PER_TICK, type SimNetwork } from './raft-sim-network.js';
import type { SimRandom } from './raft-sim-random.js';

/** What the nemesis acts on: the simulation, seen through what it may touch. */
export interface NemesisTarget {
  readonly hosts: ReadonlyMap<NodeId, SimHost>;
  readonly network: SimNetwork;
  readonly membership: boolean;
  readonly stats: { pauses: number };
  leaderHost(): SimHost | undefined;
  upHosts(): SimHost[];
  trace(line: string): void;
  schedule(units: number, fn: () => void): void;
  crash(h: SimHost): void;
  restart(h: SimHost): void;
  clientRead(): void;
  changeMembership(r: SimRandom): void;
}

function pickUp(t: NemesisTarget, r: SimRandom): SimHost | undefined {
  const up = t.upHosts();
  return up.length > 0 ? r.pick(up) : undefined;
}

/** Calls the core for the nemesis; a refusal (RaftError) is an answer, not a failure. */
function tolerate(t: NemesisTarget, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!isRaftError(e)) throw e;
    t.trace(`refused: ${e.reason}: ${e.message}`);
  }
}

export function nemesisStep(t: NemesisTarget, r: SimRandom): void {
  const ids = [...t.hosts.values()].filter((h) => !h.removed).map((h) => h.id);
  const x = r.int(100);
  if (x < 12) {
    const side = r.sample(ids, r.between(1, ids.length - 1));
    t.network.partition(side, ids.filter((id) => !side.includes(id)));
    t.trace(`nemesis: partition {${side.join(',')}} | rest`);
  } else if (x < 18) {
    const l = t.leaderHost();
    if (l !== undefined) {
      t.network.partition([l.id], ids.filter((id) => id !== l.id));
      t.trace(`nemesis: isolate the leader ${l.id}`);
    }
  } else if (x < 26) {
    const victim = r.pick(ids);
    const inbound = r.chance(0.5);
    for (const id of ids) if (id !== victim) inbound ? t.network.cutLink(id, victim) : t.network.cutLink(victim, id);
    t.trace(`nemesis: ${victim} ${inbound ? 'hears nobody' : 'is heard by nobody'}`);
  } else if (x < 30) {
    for (let i = r.between(1, 4); i > 0; i--) {
      const [a, b] = r.sample(ids, 2);
      t.network.cutLink(a!, b!);
      t.trace(`nemesis: cut ${a} -> ${b}`);
    }
  } else if (x < 42) {
    t.network.heal();
    t.trace('nemesis: heal the network');
  } else if (x < 56) {
    const l = t.leaderHost();
    const busy = t.upHosts().filter((h) => h.isBusy);
    const victim = r.chance(0.4) && l !== undefined ? l : busy.length > 0 && r.chance(0.5) ? r.pick(busy) : pickUp(t, r);
    if (victim !== undefined) t.crash(victim);
  } else if (x < 62) {
    for (const h of t.hosts.values()) if (!h.up && !h.removed) t.restart(h);
  } else if (x < 70) {
    const c = t.network.conditions;
    c.loss = r.chance(0.3) ? 0 : r.between(0, 30) / 100;
    c.duplicate = r.between(0, 10) / 100;
    c.minDelay = r.between(0, 3);
    c.maxDelay = c.minDelay + r.between(0, 30);
    c.longDelayChance = r.between(0, 5) / 100;
    // Now and then a message surfaces many terms later.
    c.longDelay = r.chance(0.2) ? r.between(300, 2000) : r.between(10, 300);
    t.trace(`nemesis: network ${JSON.stringify(c)}`);
  } else if (x < 74) {
    const h = pickUp(t, r);
    if (h !== undefined) {
      h.fsyncUnits = r.chance(0.5) ? [1, 6] : [10, r.between(20, 150)];
      t.trace(`nemesis: ${h.id}'s fsyncs take ${h.fsyncUnits[0]}-${h.fsyncUnits[1]} units`);
    }
  } else if (x < 78) {
    const l = t.leaderHost();
    const to = l && r.pick(l.status()!.confState.voters);
    if (l !== undefined && to !== undefined && to !== l.id) {
      t.trace(`nemesis: transfer leadership ${l.id} -> ${to}`);
      l.deliver((n) => tolerate(t, () => n.transferLeadership(to)));
    }
  } else if (x < 84) {
    const l = t.leaderHost();
    const h = l !== undefined && r.chance(0.6) ? l : pickUp(t, r);
    if (h !== undefined && !h.isPaused) {
      t.trace(`nemesis: pause ${h.id}`);
      t.stats.pauses++;
      h.pause();
      const inc = h.incarnation;
      t.schedule(r.between(2, 60) * UNITS_PER_TICK, () => {
        if (h.incarnation === inc) h.resume();
      });
    }
  } else if (x < 87) {
    const h = pickUp(t, r);
    if (h !== undefined) {
      t.trace(`nemesis: ${h.id} campaigns`);
      h.deliver((n) => n.campaign());
    }
  } else if (x < 90) {
    for (let i = r.between(1, 3); i > 0; i--) t.clientRead();
  } else if (t.membership) {
    t.changeMembership(r);
  }
}
