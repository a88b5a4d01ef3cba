// Small writes through one load generator against Bramble's 3-replica control
// plane and a 3-member etcd cluster: throughput, latency, and what each member
// wrote to disk per committed write (/proc/PID/io write_bytes over the run plus
// a settle, since LevelDB's compactions land after the last write).
import { Etcd3 } from 'etcd3';
import os from 'node:os';
import type { ClusterConnection } from '../control-plane/cli/cli-client.js';
import type { EtcdCluster } from './etcd-cluster.js';
import { figure, round, sleep, type Figure } from './util.js';
import { runWriteLoad, smallConfigMap, smallValue, type WriteLoadResult, type WriteTarget } from './write-load.js';

/** CPU time (user + system, every thread) per acknowledged write, in ms. */
export interface CpuPerWrite {
  /** Each member's process over the run (not the settle), in member order. */
  byMember: Figure[];
  /** The members together: what the store costs the machine per write. */
  members: Figure;
  /** This process, the load generator (the client library's share), over the run. */
  loadGenerator: Figure;
  /** members + loadGenerator: with every process on one machine, what caps its writes/s. */
  total: Figure;
}

export interface StoreRun extends WriteLoadResult {
  /** write_bytes of each member over the run and the settle, divided by the acknowledged writes. */
  bytesPerWriteByMember: Figure[];
  /** The mean over the members: what one replica's disk sees per write. */
  bytesPerWritePerMember: Figure;
  settleSeconds: number;
  loadAverage1m: number;
  cpuMsPerWrite: CpuPerWrite;
}

/** The member processes a run reads: bytes written and CPU seconds so far, in member order. */
export interface MemberReadings {
  writeBytes(): Promise<number[]>;
  cpuSeconds(): Promise<number[]>;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/**
 * Runs the load; reads every member's write_bytes before it and after the settle, and
 * the CPU of every member and of this process over the run itself.
 */
export async function measureStore(
  target: WriteTarget, members: MemberReadings, concurrency: number, total: number, settleMs: number,
  ownCpu: () => NodeJS.CpuUsage = () => process.cpuUsage(),
): Promise<StoreRun> {
  const before = await members.writeBytes();
  const cpuBefore = await members.cpuSeconds();
  const ownBefore = ownCpu();
  const load = await runWriteLoad(target, concurrency, total);
  const ownAfter = ownCpu();
  const cpuAfter = await members.cpuSeconds();
  await sleep(settleMs);
  const after = await members.writeBytes();
  const writes = Math.max(1, load.writes);
  const perMember = after.map((b, i) => (b - before[i]!) / writes);
  const cpuByMember = cpuAfter.map((c, i) => ((c - cpuBefore[i]!) * 1000) / writes);
  const membersCpu = sum(cpuByMember);
  const loadGenerator = (ownAfter.user - ownBefore.user + ownAfter.system - ownBefore.system) / 1000 / writes;
  return {
    ...load,
    bytesPerWriteByMember: perMember.map((b) => figure(b, 'bytes/write', 0)),
    bytesPerWritePerMember: figure(sum(perMember) / perMember.length, 'bytes/write', 0),
    settleSeconds: settleMs / 1000,
    loadAverage1m: round(os.loadavg()[0]!, 2),
    cpuMsPerWrite: {
      byMember: cpuByMember.map((c) => figure(c, 'ms/write', 3)),
      members: figure(membersCpu, 'ms/write', 3),
      loadGenerator: figure(loadGenerator, 'ms/write', 3),
      total: figure(membersCpu + loadGenerator, 'ms/write', 3),
    },
  };
}

/** A ConfigMap with one ~128-byte value, a new name per write, applied through the Cluster API. */
export function brambleTarget(conn: ClusterConnection, prefix: string): WriteTarget {
  return {
    write: async (i) => {
      const res = await conn.apply({ objects: [smallConfigMap(`${prefix}-${i}`, i)] });
      if (res.results.length !== 1) throw new Error(`Apply of ${prefix}-${i} answered ${res.results.length} results`);
    },
  };
}

/** The same value under a new key per write, put through the etcd3 client. */
export function etcdTarget(client: Etcd3, prefix: string): WriteTarget {
  return {
    write: async (i) => {
      await client.put(`/bench/${prefix}/${i}`).value(smallValue(i));
    },
  };
}

/** The member that leads, asked through the JSON gateway (/v3/maintenance/status) of each. */
export async function etcdLeaderUrl(cluster: EtcdCluster): Promise<string> {
  for (const url of cluster.clientUrls) {
    const res = await fetch(`${url}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(3000) });
    const body = (await res.json()) as { header?: { member_id?: string }; leader?: string };
    if (body.leader !== undefined && body.header?.member_id === body.leader) return url;
  }
  throw new Error(`no etcd member says it leads (asked ${cluster.clientUrls.join(', ')})`);
}

export interface SideBySide {
  bramble: { clients1: StoreRun; clients64: StoreRun };
  etcd: { clients1: StoreRun; clients64: StoreRun };
  ratios: {
    /** Bramble's writes/s over etcd's at 64 clients; target ≥ 1. */
    throughput64: number;
    throughput1: number;
    /** Bramble's bytes per write per member over etcd's; target < 1. */
    bytesPerWrite1: number;
    bytesPerWrite64: number;
    /** Bramble's members' CPU per write over etcd's at 64 clients: what the throughput ratio rests on when every process shares the machine's cores. */
    membersCpuPerWrite64: number;
  };
  metTargets: { throughput64: boolean; bytesPerWrite: boolean };
}

export function compare(bramble: SideBySide['bramble'], etcd: SideBySide['etcd']): Pick<SideBySide, 'ratios' | 'metTargets'> {
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : round(a / b, 2));
  const ratios = {
    throughput64: ratio(bramble.clients64.throughput.value, etcd.clients64.throughput.value),
    throughput1: ratio(bramble.clients1.throughput.value, etcd.clients1.throughput.value),
    bytesPerWrite1: ratio(bramble.clients1.bytesPerWritePerMember.value, etcd.clients1.bytesPerWritePerMember.value),
    bytesPerWrite64: ratio(bramble.clients64.bytesPerWritePerMember.value, etcd.clients64.bytesPerWritePerMember.value),
    membersCpuPerWrite64: ratio(bramble.clients64.cpuMsPerWrite.members.value, etcd.clients64.cpuMsPerWrite.members.value),
  };
  return { ratios, metTargets: { throughput64: ratios.throughput64 >= 1, bytesPerWrite: ratios.bytesPerWrite1 < 1 && ratios.bytesPerWrite64 < 1 } };
}
