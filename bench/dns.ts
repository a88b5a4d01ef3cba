// DNS benchmark: queries per second and latency of the board resolver for cluster
// names and for cached forwarded names, asked from a Pod-like network namespace,
// with the resolver's RSS and CPU. Layout, all made here and removed at the end:
//   board netns: bridge bramble0 10.42.250.1/24 (the gateway Pods use), the
//     resolver process (dist/agent/dns-server-main.js) on 10.42.250.1:53, and a
//     stand-in upstream on the board's 127.0.0.1:5300 (as a systemd-resolved stub)
//   pod netns: eth0 10.42.250.5/24 on a veth into the bridge, default via the
//     gateway; the load client process (dist/bench/dns-load.js) runs here.
// The resolver holds 1,000 Services. Run alone with `npx tsx bench/dns.ts` (root).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execRunner, nsenterRunner, type CommandRunner } from '../agent/exec-runner.js';
import type { Endpoints, KObject, Service } from '../proto/model.js';
import { figure, MB, readCpuSeconds, readRssBytes, round, type Figure } from './util.js';

export interface DnsLoadRun {
  names: 'cluster' | 'forwardedCached';
  concurrency: number;
  qps: Figure;
  latency: { p50: number; p99: number; max: number; unit: 'ms' };
  answered: number;
  timeouts: number;
  errors: number;
  /** Resolver CPU time over the run, as a percentage of one core. */
  resolverCpu: Figure;
  /** Cache hits and misses of the resolver during the run (forwarded names only). */
  cacheHits: number;
  cacheMisses: number;
}

export interface DnsBenchReport {
  name: 'dns';
  setup: string;
  services: number;
  forwardedNames: number;
  runs: DnsLoadRun[];
  rss: { afterStart: Figure; afterLoad: Figure };
}

const SERVICES = 1000;
const FORWARDED_NAMES = 200;
const GATEWAY = '10.42.250.1';
const POD_IP = '10.42.250.5';
const UPSTREAM_PORT = 5300;

const here = path.dirname(fileURLToPath(import.meta.url));
const fromRoot = (...p: string[]): string => path.join(here, '..', ...p);

async function must(runner: CommandRunner, file: string, args: string[]): Promise<void> {
  const r = await runner.run(file, args, { timeoutMs: 15_000 });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} must succeed: exited with ${r.exitCode}: ${r.stderr.trim()}`);
}

/** The compiled script for a source file: dist/ when run from dist, else the .ts through tsx. */
function script(rel: string): { file: string; args: string[] } {
  const isDist = here.split(path.sep).includes('dist');
  if (isDist) return { file: process.execPath, args: [fromRoot(rel.replace(/\.ts$/, '.js'))] };
  return { file: process.execPath, args: ['--import', 'tsx', fromRoot(rel)] };
}

interface Child {
  proc: ChildProcess;
  lines: string[];
  waitLine(match: (l: string) => boolean, deadlineMs?: number): Promise<string>;
}

function spawnIn(netns: string, rel: string, args: string[]): Child {
  const s = script(rel);
  const proc = spawn('ip', ['netns', 'exec', netns, s.file, ...s.args, ...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd: fromRoot() });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-2000);
  });
  proc.on('exit', () => {
    for (const w of waiters.splice(0)) w();
  });
  const waitLine = (match: (l: string) => boolean, deadlineMs = 30_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${rel} must print its line within ${deadlineMs} ms: stderr ${stderr.trim()}`)), deadlineMs);
      const check = (): void => {
        const hit = lines.find(match);
        if (hit !== undefined) {
          clearTimeout(timer);
          lines.splice(lines.indexOf(hit), 1);
          resolve(hit);
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          clearTimeout(timer);
          reject(new Error(`${rel} exited (${proc.exitCode ?? proc.signalCode}) before printing its line: ${stderr.trim()}`));
        } else {
          waiters.push(check);
        }
      };
      check();
    });
  return { proc, lines, waitLine };
}

function clusterObjects(): KObject[] {
  const out: KObject[] = [];
  for (let i = 0; i < SERVICES; i++) {
    out.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'bench' }, spec: { clusterIP: `10.43.${i >> 8}.${(i & 255) + 1}`, ports: [{ name: 'http', port: 80 }] } } satisfies Service);
    out.push({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: `svc-${i}`, namespace: 'bench' }, subsets: [{ addresses: [0, 1, 2].map((k) => ({ ip: `10.42.${k}.${(i % 250) + 2}` })), ports: [{ name: 'http', port: 8080 }] }] } satisfies Endpoints);
  }
  return out;
}

export async function runDnsBench(opts: { durationMs?: number; log?: (m: string) => void } = {}): Promise<DnsBenchReport> {
  if (process.getuid?.() !== 0) throw new Error('the dns section must run as root: it makes network namespaces');
  const log = opts.log ?? (() => undefined);
  const durationMs = opts.durationMs ?? 4000;
  const tag = randomBytes(3).toString('hex');
  const boardNs = `bramble-dnsb-${tag}`;
  const podNs = `bramble-dnsp-${tag}`;
  const hostVeth = `bdv${tag}`;
  const board = nsenterRunner(`/var/run/netns/${boardNs}`);
  const pod = nsenterRunner(`/var/run/netns/${podNs}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bdns-'));
  const children: ChildProcess[] = [];
  try {
    await must(execRunner, 'ip', ['netns', 'add', boardNs]);
    await must(execRunner, 'ip', ['netns', 'add', podNs]);
    await must(board, 'ip', ['link', 'set', 'lo', 'up']);
    await must(board, 'ip', ['link', 'add', 'bramble0', 'type', 'bridge']);
    await must(board, 'ip', ['addr', 'add', `${GATEWAY}/24`, 'dev', 'bramble0']);
    await must(board, 'ip', ['link', 'set', 'bramble0', 'up']);
    await must(board, 'ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs]);
    await must(board, 'ip', ['link', 'set', hostVeth, 'master', 'bramble0', 'up']);
    await must(pod, 'ip', ['link', 'set', 'lo', 'up']);
    await must(pod, 'ip', ['addr', 'add', `${POD_IP}/24`, 'dev', 'eth0']);
    await must(pod, 'ip', ['link', 'set', 'eth0', 'up']);
    await must(pod, 'ip', ['route', 'add', 'default', 'via', GATEWAY]);

    const viewFile = path.join(dir, 'view.json');
    const resolvConf = path.join(dir, 'resolv.conf');
    const clusterNames = path.join(dir, 'cluster-names.txt');
    const forwardedNames = path.join(dir, 'forwarded-names.txt');
    await writeFile(viewFile, JSON.stringify(clusterObjects()));
    await writeFile(resolvConf, 'nameserver 127.0.0.1\n');
    await writeFile(clusterNames, Array.from({ length: SERVICES }, (_, i) => `svc-${i}.bench.svc.cluster.local`).join('\n'));
    await writeFile(forwardedNames, Array.from({ length: FORWARDED_NAMES }, (_, i) => `host-${i}.example.net`).join('\n'));

    const upstream = spawnIn(boardNs, 'bench/dns-load.ts', ['upstream', '--address', '127.0.0.1', '--port', String(UPSTREAM_PORT)]);
    children.push(upstream.proc);
    await upstream.waitLine((l) => l.includes('"ready"'));
    const resolver = spawnIn(boardNs, 'agent/dns-server-main.ts', ['--address', GATEWAY, '--port', '53', '--view', viewFile, '--resolv-conf', resolvConf, '--upstream-port', String(UPSTREAM_PORT)]);
    children.push(resolver.proc);
    const ready = JSON.parse(await resolver.waitLine((l) => l.includes('"ready"'))) as { pid: number; services: number };
    const pid = resolver.proc.pid!;
    if (ready.pid !== pid) throw new Error(`the resolver must be the spawned process itself (ip netns exec execs it): pid ${ready.pid}, spawned ${pid}`);
    log(`resolver pid ${pid} on ${GATEWAY}:53 with ${ready.services} Services`);
    const rssAfterStart = await readRssBytes(pid);

    const metrics = async (): Promise<{ cacheHits: number; cacheMisses: number }> => {
      resolver.proc.stdin!.write('metrics\n');
      return (JSON.parse(await resolver.waitLine((l) => l.includes('"metrics"'))) as { metrics: { cacheHits: number; cacheMisses: number } }).metrics;
    };
    const loadRun = async (names: DnsLoadRun['names'], concurrency: number, ms: number): Promise<DnsLoadRun> => {
      const m0 = await metrics();
      const cpu0 = await readCpuSeconds(pid);
      const client = spawnIn(podNs, 'bench/dns-load.ts', ['load', '--server', GATEWAY, '--port', '53', '--names', names === 'cluster' ? clusterNames : forwardedNames, '--concurrency', String(concurrency), '--duration-ms', String(ms)]);
      children.push(client.proc);
      const r = JSON.parse(await client.waitLine((l) => l.includes('"qps"'), ms + 30_000)) as { answered: number; timeouts: number; errors: number; seconds: number; qps: number; latencyMs: { p50: number; p99: number; max: number } };
      const cpu = (await readCpuSeconds(pid)) - cpu0;
      const m1 = await metrics();
      const run: DnsLoadRun = {
        names, concurrency, qps: figure(r.qps, 'queries/s', 0),
        latency: { p50: round(r.latencyMs.p50, 3), p99: round(r.latencyMs.p99, 3), max: round(r.latencyMs.max, 3), unit: 'ms' },
        answered: r.answered, timeouts: r.timeouts, errors: r.errors,
        resolverCpu: figure((cpu / r.seconds) * 100, '% of one core'),
        cacheHits: m1.cacheHits - m0.cacheHits, cacheMisses: m1.cacheMisses - m0.cacheMisses,
      };
      log(`${names} c=${concurrency}: ${run.qps.value} q/s, p99 ${run.latency.p99} ms, resolver CPU ${run.resolverCpu.value}%`);
      return run;
    };

    const runs: DnsLoadRun[] = [];
    // Warm-up: JIT, and every forwarded name once into the cache (the misses are reported on this run, not timed).
    await loadRun('cluster', 8, 1000);
    await loadRun('forwardedCached', 8, 1000);
    for (const c of [1, 32]) {
      runs.push(await loadRun('cluster', c, durationMs));
      runs.push(await loadRun('forwardedCached', c, durationMs));
    }
    const rssAfterLoad = await readRssBytes(pid);
    return {
      name: 'dns',
      setup: 'resolver process in a board netns on the bridge gateway 10.42.250.1:53; load client process in a Pod netns (veth into the bridge) over UDP, closed loop; stand-in upstream on the board loopback',
      services: SERVICES,
      forwardedNames: FORWARDED_NAMES,
      runs,
      rss: { afterStart: figure(rssAfterStart / MB, 'MB'), afterLoad: figure(rssAfterLoad / MB, 'MB') },
    };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await execRunner.run('ip', ['netns', 'delete', podNs]).catch(() => undefined);
    await execRunner.run('ip', ['netns', 'delete', boardNs]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runDnsBench({ log: (m) => process.stderr.write(`[dns] ${m}\n`) }).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
