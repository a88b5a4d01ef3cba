// Small writes through one load generator against Bramble's 3-replica control
// plane and a 3-member etcd cluster: throughput, latency, and what each member
// wrote to disk per committed write (/proc/PID/io write_bytes over the run plus
// a settle, since LevelDB's compactions land after the last write).
import { Etcd3 } from 'etcd3';
import os from 'node:os';
import type { ClusterConnection } from '../control-plane/cli/cli-client.js';
import type { EtcdCluster } from './etcd-cluster.js';
import { figure, round, sleep, type Figure } from './util.js';
import { runWriteLoad, smallValue, type WriteLoadResult, type WriteTarget } from './write-load.js';

export interface StoreRun extends WriteLoadResult {
  /** write_bytes of each member over the run and the settle, divided by the acknowledged writes. */
  bytesPerWriteByMember: Figure[];
  /** The mean over the members: what one replica's disk sees per write. */
  bytesPerWritePerMember: Figure;
  settleSeconds: number;
  loadAverage1m: number;
}

/** Runs the load and reads every member's write_bytes before it and after the settle. */
export async function measureStore(
  target: WriteTarget, writeBytes: () => Promise<number[]>, concurrency: number, total: number, settleMs: number,
): Promise<StoreRun> {
  const before = await writeBytes();
  const load = await runWriteLoad(target, concurrency, total);
  await sleep(settleMs);
  const after = await writeBytes();
  const perMember = after.map((b, i) => (b - before[i]!) / Math.max(1, load.writes));
  return {
    ...load,
    bytesPerWriteByMember: perMember.map((b) => figure(b, 'bytes/write', 0)),
    bytesPerWritePerMember: figure(perMember.reduce((a, b) => a + b, 0) / perMember.length, 'bytes/write', 0),
    settleSeconds: settleMs / 1000,
    loadAverage1m: round(os.loadavg()[0]!, 2),
  };
}

/** A ConfigMap with one ~128-byte value, a new name per write, applied through the Cluster API. */
export function brambleTarget(conn: ClusterConnection, prefix: string): WriteTarget {
  return {
    write: async (i) => {
      const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${prefix}-${i}`, namespace: 'default' }, data: { v: smallValue(i) } };
      const res = await conn.apply({ objects: [JSON.stringify(cm)] });
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
  };
  return { ratios, metTargets: { throughput64: ratios.throughput64 >= 1, bytesPerWrite: ratios.bytesPerWrite1 < 1 && ratios.bytesPerWrite64 < 1 } };
}
