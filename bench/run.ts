// `npm run bench`: runs every benchmark section one after the other and prints
// ONE JSON report on stdout; progress goes to stderr. A section that fails is
// reported with its error and the others still run; the exit code is then 1.
// Env: BENCH_IDLE_SECONDS (idle window of the api section, default 60),
// BENCH_SECTIONS (comma-separated subset of the section names, default all).
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { idleSecondsFromEnv, runApiBench } from './api.js';
import { runSchedulerBench } from './scheduler.js';
import { runPodsBench } from './pods.js';
import { runWorkloadsBench } from './workloads.js';
import { runCronJobsBench } from './cronjobs.js';
import { runEvictionBench } from './eviction.js';
import { runServicesBench } from './services.js';
import { runDnsBench } from './dns.js';
import { runServiceReadyBench } from './service-ready.js';
import { runReplicationBench } from './replication.js';
import { runShimsBench } from './shims.js';
import { runAnsibleSiteBench } from './ansible-site.js';
import { round } from './util.js';

interface Section {
  name: string;
  run: () => Promise<unknown>;
}

type SectionResult =
  | { ok: true; seconds: number; result: unknown }
  | { ok: false; seconds: number; error: { message: string; stack?: string } };

export interface BenchReport {
  name: 'bramble-bench';
  date: string;
  machine: { cpus: number; cpuModel: string; memory: { value: number; unit: 'MB' }; node: string; platform: string; kernel: string };
  settings: { idleSeconds: number; sections: string[] };
  totalSeconds: number;
  sections: Record<string, SectionResult>;
}

function machine(): BenchReport['machine'] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memory: { value: Math.round(os.totalmem() / (1024 * 1024)), unit: 'MB' },
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
  };
}

const progress = (msg: string): void => {
  process.stderr.write(`[bench] ${msg}\n`);
};

export function selectSections(all: Section[], env: NodeJS.ProcessEnv = process.env): Section[] {
  const raw = env.BENCH_SECTIONS?.trim();
  if (!raw) return all;
  const wanted = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((w) => !all.some((s) => s.name === w));
  if (unknown.length > 0) {
    throw new Error(`BENCH_SECTIONS must name sections among ${all.map((s) => s.name).join(', ')}: current value is "${raw}"`);
  }
  return all.filter((s) => wanted.includes(s.name));
}

/**
 * Sections and the libraries they load must not write to stdout, or the report
 * would no longer be one JSON document: their stdout goes to stderr meanwhile.
 */
async function withStdoutOnStderr<T>(fn: () => Promise<T>): Promise<T> {
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = original;
  }
}

async function main(): Promise<number> {
  const idleSeconds = idleSecondsFromEnv();
  const all: Section[] = [
    { name: 'api', run: () => runApiBench({ idleSeconds, log: (m) => progress(`api: ${m}`) }) },
    { name: 'scheduler', run: () => runSchedulerBench() },
    { name: 'pods', run: () => runPodsBench({ idleSeconds, log: (m) => progress(`pods: ${m}`) }) },
    { name: 'workloads', run: () => runWorkloadsBench({ idleSeconds, log: (m) => progress(`workloads: ${m}`) }) },
    { name: 'cronjobs', run: () => runCronJobsBench({ idleSeconds, log: (m) => progress(`cronjobs: ${m}`) }) },
    { name: 'eviction', run: () => runEvictionBench({ log: (m) => progress(`eviction: ${m}`) }) },
    { name: 'services', run: () => runServicesBench({ log: (m) => progress(`services: ${m}`) }) },
    { name: 'dns', run: () => runDnsBench({ log: (m) => progress(`dns: ${m}`) }) },
    { name: 'service-ready', run: () => runServiceReadyBench({ log: (m) => progress(`service-ready: ${m}`) }) },
    { name: 'replication', run: () => runReplicationBench({ idleSeconds, log: (m) => progress(`replication: ${m}`) }) },
    { name: 'shims', run: () => runShimsBench({ log: (m) => progress(`shims: ${m}`) }) },
    { name: 'ansible-site', run: () => runAnsibleSiteBench({ log: (m) => progress(`ansible-site: ${m}`) }) },
  ];
  const sections = selectSections(all);
  const started = performance.now();
  const report: BenchReport = {
    name: 'bramble-bench',
    date: new Date().toISOString(),
    machine: machine(),
    settings: { idleSeconds, sections: sections.map((s) => s.name) },
    totalSeconds: 0,
    sections: {},
  };
  await withStdoutOnStderr(async () => {
    for (const section of sections) {
      progress(`section ${section.name}: starting`);
      const t0 = performance.now();
      try {
        const result = await section.run();
        report.sections[section.name] = { ok: true, seconds: round((performance.now() - t0) / 1000), result };
        progress(`section ${section.name}: done in ${round((performance.now() - t0) / 1000)} s`);
      } catch (e) {
        const err = e instanceof Error ? { message: e.message, stack: e.stack } : { message: String(e) };
        report.sections[section.name] = { ok: false, seconds: round((performance.now() - t0) / 1000), error: err };
        progress(`section ${section.name}: FAILED: ${err.message}`);
      }
    }
  });
  report.totalSeconds = round((performance.now() - started) / 1000);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return Object.values(report.sections).every((s) => s.ok) ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    progress(`bench could not run: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
