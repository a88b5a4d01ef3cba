// Bytes written to disk per committed small write by a 3-replica RaftStore in one
// process (real LevelDB with fsync, the in-memory transport, the real clock), with
// 1 and 64 concurrent proposers, beside a single LevelStore under the same load.
// Bytes are the kernel's write_bytes of this process (/proc/self/io: counted when a
// page is dirtied, so an fsynced 100-byte append costs a whole 4 KiB page — what an
// SD card sees) and the growth of the LevelDB directories. Run alone (it is
// serialized with the other benches): flock /tmp/bramble-e2e.lock node dist/bench/raft-store-bytes.js
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MemoryNetwork } from '../control-plane/raft/raft-transport-memory.js';
import { openRaftStore, type RaftStore } from '../control-plane/raft/raft-store.js';
import { openLevelStore } from '../control-plane/store/store-level.js';
import type { Store } from '../control-plane/store/store.js';
import { create } from '../control-plane/testing/raft-cluster.js';
import { figure, parseIoWriteBytes, summarizeMs } from './util.js';

async function writeBytes(): Promise<number> {
  return parseIoWriteBytes(await readFile('/proc/self/io', 'utf8'));
}

async function load(store: Store, prefix: string, writes: number, concurrency: number): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < writes) {
      const i = next++;
      const t = performance.now();
      await store.propose(create(`${prefix}-${i}`, { key: `value-${i}` }));
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return latencies;
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function measure(stores: Store[], run: () => Promise<number[]>, writes: number, settled: () => boolean) {
  const du0 = await Promise.all(stores.map((s) => s.diskBytes()));
  const wb0 = await writeBytes();
  const t0 = performance.now();
  const latencies = await run();
  const seconds = (performance.now() - t0) / 1000;
  await until(settled, 'every replica applied every write');
  const wb = (await writeBytes()) - wb0;
  const du = (await Promise.all(stores.map((s) => s.diskBytes()))).map((b, i) => b - du0[i]!);
  return {
    writes,
    throughput: figure(writes / seconds, 'writes/s'),
    latency: summarizeMs(latencies),
    writeBytesPerWrite: figure(wb / writes, 'bytes/write (all replicas, kernel write_bytes)'),
    writeBytesPerWritePerReplica: figure(wb / writes / stores.length, 'bytes/write/replica'),
    dirGrowthPerWritePerReplica: du.map((d) => figure(d / writes, 'bytes/write')),
  };
}

export async function runRaftStoreBytesBench(opts: { writes1?: number; writes64?: number } = {}) {
  const writes1 = opts.writes1 ?? 300;
  const writes64 = opts.writes64 ?? 3200;
  const root = await mkdtemp(join(tmpdir(), 'raft-bytes-'));
  const report: Record<string, unknown> = {};
  try {
    const net = new MemoryNetwork();
    const ids = ['a', 'b', 'c'];
    const stores: RaftStore[] = [];
    for (const id of ids) {
      stores.push(await openRaftStore({
        dataDir: join(root, id), id, transport: net.transport(id),
        bootstrap: ids.map((p) => ({ id: p, address: `${p}:7443` })),
      }));
    }
    await until(() => stores.some((s) => s.leadership.isLeader()), 'a leader elected');
    const leader = stores.find((s) => s.leadership.isLeader())!;
    const settled = (): boolean => stores.every((s) => s.revision() === leader.revision());
    const batches0 = stores.map((s) => ({ ...s.node.stats }));
    report.raft1 = await measure(stores, () => load(leader, 'one', writes1, 1), writes1, settled);
    const batches1 = stores.map((s) => ({ ...s.node.stats }));
    report.raft64 = await measure(stores, () => load(leader, 'many', writes64, 64), writes64, settled);
    const batches64 = stores.map((s) => ({ ...s.node.stats }));
    report.raftBatches = ids.map((id, i) => ({
      id,
      leader: stores[i] === leader,
      clients1: { batches: batches1[i]!.batches - batches0[i]!.batches, fsynced: batches1[i]!.syncedBatches - batches0[i]!.syncedBatches },
      clients64: { batches: batches64[i]!.batches - batches1[i]!.batches, fsynced: batches64[i]!.syncedBatches - batches1[i]!.syncedBatches },
    }));
    for (const s of stores) await s.close();

    const single = await openLevelStore({ dataDir: join(root, 'single') });
    report.single1 = await measure([single], () => load(single, 'one', writes1, 1), writes1, () => true);
    report.single64 = await measure([single], () => load(single, 'many', writes64, 64), writes64, () => true);
    await single.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return report;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runRaftStoreBytesBench().then((r) => {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  }, (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
