// API benchmark: a real `bramble server` child process (gRPC over mTLS, LevelDB
// with fsync) driven through the CLI and through a gRPC client; its RSS, its
// idle disk writes and CPU, and the store's group commit measured in-process.
// Run alone with `npx tsx bench/api.ts`; prints one JSON report.
import { LIMITS } from '../proto/limits.js';
import * as grpc from '@grpc/grpc-js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { realClock } from '../proto/util/clock.js';
import { loadProto } from '../proto/load.js';
import type { KObject } from '../proto/model.js';
import type { ApplyResponse__Output } from '../proto/generated/bramble/v1/ApplyResponse.js';
import type { ClusterClient } from '../proto/generated/bramble/v1/Cluster.js';
import type { ListResponse__Output } from '../proto/generated/bramble/v1/ListResponse.js';
import { channelOptions } from '../control-plane/cli/cli-client.js';
import { clientCredentials, readClientConfig } from '../control-plane/pki/client-config.js';
import { openLevelStore } from '../control-plane/store/store-level.js';
import {
  MB, dirSizeBytes, figure, round, makeTempDir, readCpuSeconds, readRssBytes, readWriteBytes, removeDir, runCli, sleep,
  startServerProcess, summarizeMs, timeMs, type Figure, type LatencySummary, type ServerProcess,
} from './util.js';

export interface ApiBenchOptions {
  /** Length of the idle window (env BENCH_IDLE_SECONDS, default 60). */
  idleSeconds?: number;
  cliInvocations?: number;
  objectsPerRun?: number;
  targetObjects?: number;
  log?: (msg: string) => void;
}

interface Throughput {
  objects: number;
  seconds: Figure;
  throughput: Figure;
}

export interface ApiBenchReport {
  name: 'api';
  server: { flags: string[]; readyAfterSpawn: Figure };
  cli: {
    startupOnly: LatencySummary & { note: string };
    applyOneObjectPerInvocation: LatencySummary & { note: string };
    applyOneFile: Throughput & { note: string };
  };
  grpc: { writers: number; latency: LatencySummary; objects: number; seconds: Figure; throughput: Figure; note: string }[];
  rss: { afterStart: Figure; afterObjects: Figure & { objects: number }; afterIdle: Figure };
  listAll: { objects: number; latency: Figure };
  idle: {
    seconds: number;
    settleSeconds: number;
    /** Written while the benchmark loaded objects: shows the write_bytes counter works here. */
    loadWriteBytes: Figure;
    settleWriteBytes: Figure;
    writeBytes: Figure;
    writeBytesPerMinute: Figure;
    dataDirSizeDelta: Figure;
    dataDirSize: Figure;
    cpuSeconds: Figure;
    cpuPercent: Figure;
  };
  groupCommit: GroupCommitReport;
}

const SETTLE_SECONDS = 5;
const DEADLINE_MS = 60_000;
const FILL_BATCH = 250;

function configMap(name: string): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { key: `value of ${name}` } };
}

const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);

function apply(client: ClusterClient, objects: KObject[]): Promise<ApplyResponse__Output> {
  return new Promise((resolve, reject) => {
    client.Apply({ objects: objects.map((o) => JSON.stringify(o)) }, new grpc.Metadata(), { deadline: realClock.now() + DEADLINE_MS }, (err, res) =>
      err ? reject(new Error(`Apply failed: ${err.message}`)) : res ? resolve(res) : reject(new Error('Apply returned no response')));
  });
}

function list(client: ClusterClient, kind: string, namespace: string): Promise<ListResponse__Output> {
  return new Promise((resolve, reject) => {
    client.List({ kind, namespace }, new grpc.Metadata(), { deadline: realClock.now() + DEADLINE_MS }, (err, res) =>
      err ? reject(new Error(`List failed: ${err.message}`)) : res ? resolve(res) : reject(new Error('List returned no response')));
  });
}

/** `writers` loops share `objects` names, each applying one object per call; one channel multiplexes them. */
async function grpcRun(client: ClusterClient, prefix: string, objects: number, writers: number): Promise<ApiBenchReport['grpc'][number]> {
  const queue = names(prefix, objects);
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: writers }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      latencies.push(await timeMs(() => apply(client, [configMap(name!)])));
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  return {
    writers, latency: summarizeMs(latencies), objects, seconds: figure(seconds, 's', 3), throughput: figure(objects / seconds, 'objects/s'),
    note: 'one Apply call per object (one fsynced store commit each unless grouped); latency is per call, measured in the client',
  };
}

async function cliRuns(server: ServerProcess, work: string, invocations: number, fileObjects: number): Promise<ApiBenchReport['cli']> {
  const config = ['--config', server.adminConf];
  const startup: number[] = [];
  for (let i = 0; i < 5; i++) startup.push((await runCli(['--version'])).ms);
  const single: number[] = [];
  for (const name of names('cli-one', invocations)) {
    const file = path.join(work, `${name}.json`);
    await writeFile(file, JSON.stringify(configMap(name)));
    single.push((await runCli([...config, 'apply', '-f', file])).ms);
  }
  const listFile = path.join(work, 'cli-file.json');
  await writeFile(listFile, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: names('cli-file', fileObjects).map(configMap) }));
  const { ms, stdout } = await runCli([...config, 'apply', '-f', listFile], 120_000);
  const created = stdout.split('\n').filter((l) => l.endsWith(' created')).length;
  if (created !== fileObjects) throw new Error(`CLI apply of ${fileObjects} objects reported ${created} created`);
  return {
    startupOnly: { ...summarizeMs(startup), note: '`bramble --version`: Node start-up and module loading, no network' },
    applyOneObjectPerInvocation: {
      ...summarizeMs(single),
      note: 'wall time of one `bramble apply -f` process applying one ConfigMap: includes Node start-up, config read, TLS handshake and one fsynced commit',
    },
    applyOneFile: {
      objects: fileObjects, seconds: figure(ms / 1000, 's', 3), throughput: figure(fileObjects / (ms / 1000), 'objects/s'),
      note: 'one `bramble apply -f` of a List with all objects: one process, one Apply call, one store commit; includes Node start-up',
    },
  };
}

export interface GroupCommitReport {
  proposals: number;
  sequential: GroupCommitRun;
  concurrent: GroupCommitRun & { inFlight: number };
  speedup: Figure;
  note: string;
}

interface GroupCommitRun {
  seconds: Figure;
  throughput: Figure;
  batchesWritten: number;
  commandsPerBatch: Figure;
  largestBatch: number;
}

/** The same proposals awaited one by one, then 16 in flight: how much grouping into one fsync buys. */
export async function runGroupCommit(proposals = 400, inFlight = 16): Promise<GroupCommitReport> {
  const dir = await makeTempDir('group-commit');
  try {
    const store = await openLevelStore({ dataDir: dir });
    try {
      const run = async (prefix: string, concurrency: number): Promise<GroupCommitRun> => {
        const before = { ...store.stats };
        const queue = names(prefix, proposals);
        const t0 = performance.now();
        await Promise.all(Array.from({ length: concurrency }, async () => {
          for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
            await store.propose({ ops: [{ type: 'put', object: configMap(name), precondition: { absent: true } }] });
          }
        }));
        const seconds = (performance.now() - t0) / 1000;
        const batches = store.stats.batchesWritten - before.batchesWritten;
        return {
          seconds: figure(seconds, 's', 3), throughput: figure(proposals / seconds, 'commands/s'), batchesWritten: batches,
          commandsPerBatch: figure((store.stats.commandsCommitted - before.commandsCommitted) / Math.max(1, batches), 'commands/batch', 2),
          largestBatch: store.stats.largestBatch,
        };
      };
      const sequential = await run('seq', 1);
      const concurrent = await run('conc', inFlight);
      return {
        proposals, sequential, concurrent: { ...concurrent, inFlight },
        speedup: figure(concurrent.throughput.value / sequential.throughput.value, 'x', 2),
        note: 'in-process LevelStore with fsync on (the server does not expose store.stats); largestBatch is the running maximum of the store',
      };
    } finally {
      await store.close();
    }
  } finally {
    await removeDir(dir);
  }
}

const rssFigure = async (pid: number): Promise<Figure> => figure((await readRssBytes(pid)) / MB, 'MB');

export async function runApiBench(opts: ApiBenchOptions = {}): Promise<ApiBenchReport> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[api] ${m}\n`));
  const idleSeconds = opts.idleSeconds ?? 60;
  const perRun = opts.objectsPerRun ?? 1000;
  const target = opts.targetObjects ?? 10_000;
  const work = await makeTempDir('api');
  let server: ServerProcess | undefined;
  let client: ClusterClient | undefined;
  try {
    log('starting bramble server');
    server = await startServerProcess(path.join(work, 'data'));
    const afterStart = await rssFigure(server.pid);
    const loadStartBytes = await readWriteBytes(server.pid);
    const cfg = await readClientConfig(server.adminConf);
    const { Cluster } = loadProto().bramble.v1;
    client = new Cluster(cfg.server, clientCredentials(cfg), channelOptions(cfg.server));

    // One apply carries at most LIMITS.maxObjectsPerApply objects (docs/limits.md).
    const fileObjects = Math.min(perRun, LIMITS.maxObjectsPerApply);
    log(`CLI: ${opts.cliInvocations ?? 50} single-object applies and one ${fileObjects}-object file`);
    const cli = await cliRuns(server, work, opts.cliInvocations ?? 50, fileObjects);
    let created = (opts.cliInvocations ?? 50) + fileObjects;

    const grpcRuns: ApiBenchReport['grpc'] = [];
    for (const writers of [1, 16]) {
      log(`gRPC: ${perRun} objects with ${writers} writer(s)`);
      grpcRuns.push(await grpcRun(client, `grpc-w${writers}`, perRun, writers));
      created += perRun;
    }

    log(`filling the store to ${target} ConfigMaps`);
    const fill = names('fill', Math.max(0, target - created));
    for (let i = 0; i < fill.length; i += FILL_BATCH) await apply(client, fill.slice(i, i + FILL_BATCH).map(configMap));
    let listed = 0;
    const listMs = await timeMs(async () => (listed = (await list(client!, 'ConfigMap', 'default')).objects.length));
    if (listed < target) throw new Error(`expected at least ${target} ConfigMaps after the fill: the server lists ${listed}`);
    const afterObjects = { ...(await rssFigure(server.pid)), objects: listed };

    log(`idle: ${SETTLE_SECONDS} s settle, then ${idleSeconds} s measured`);
    const settleStart = await readWriteBytes(server.pid);
    const loadWriteBytes = settleStart - loadStartBytes;
    await sleep(SETTLE_SECONDS * 1000);
    const w0 = await readWriteBytes(server.pid);
    const c0 = await readCpuSeconds(server.pid);
    const d0 = await dirSizeBytes(server.dataDir);
    const t0 = performance.now();
    await sleep(idleSeconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const written = (await readWriteBytes(server.pid)) - w0;
    const cpu = (await readCpuSeconds(server.pid)) - c0;
    const d1 = await dirSizeBytes(server.dataDir);
    const afterIdle = await rssFigure(server.pid);

    log('group commit, in-process');
    const groupCommit = await runGroupCommit();

    return {
      name: 'api',
      server: { flags: server.flags, readyAfterSpawn: figure(server.readyMs, 'ms', 0) },
      cli,
      grpc: grpcRuns,
      rss: { afterStart, afterObjects, afterIdle },
      listAll: { objects: listed, latency: figure(listMs, 'ms') },
      idle: {
        seconds: round(elapsed),
        settleSeconds: SETTLE_SECONDS,
        loadWriteBytes: figure(loadWriteBytes, 'bytes', 0),
        settleWriteBytes: figure(w0 - settleStart, 'bytes', 0),
        writeBytes: figure(written, 'bytes', 0),
        writeBytesPerMinute: figure((written / elapsed) * 60, 'bytes/min', 0),
        dataDirSizeDelta: figure(d1 - d0, 'bytes', 0),
        dataDirSize: figure(d1, 'bytes', 0),
        cpuSeconds: figure(cpu, 's', 2),
        cpuPercent: figure((cpu / elapsed) * 100, '% of one core', 2),
      },
      groupCommit,
    };
  } catch (e) {
    if (server) process.stderr.write(`[api] server log tail:\n${server.logTail()}\n`);
    throw e;
  } finally {
    client?.close();
    if (server) {
      const code = await server.stop();
      if (code !== 0) log(`bramble server did not exit cleanly on SIGTERM (exit code ${code}; null means killed by a signal)`);
    }
    await removeDir(work);
  }
}

/** BENCH_IDLE_SECONDS: a non-negative number of seconds, default 60. */
export function idleSecondsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BENCH_IDLE_SECONDS;
  if (raw === undefined || raw === '') return 60;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`BENCH_IDLE_SECONDS must be a non-negative number of seconds: current value is "${raw}"`);
  return n;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  runApiBench({ idleSeconds: idleSecondsFromEnv() }).then(
    (report) => console.log(JSON.stringify(report, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
