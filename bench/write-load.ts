// One load generator for every store the benches compare side by side (Bramble's
// replicated store, etcd): `concurrency` clients each issue writes one after the
// other until `total` writes are done, so the stores see the same request pattern.
import { performance } from 'node:perf_hooks';
import { round, summarizeMs, type LatencySummary } from './util.js';

export interface WriteTarget {
  /** Writes value number `i` (unique per run); resolves once the store acknowledged it. */
  write(i: number): Promise<void>;
}

export interface WriteLoadResult {
  concurrency: number;
  writes: number;
  failed: number;
  seconds: number;
  throughput: { value: number; unit: 'writes/s' };
  latency: LatencySummary;
  /** The first failure's message, so a broken run is not mistaken for a slow one. */
  firstError?: string;
}

export async function runWriteLoad(target: WriteTarget, concurrency: number, total: number): Promise<WriteLoadResult> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer: current value is ${concurrency}`);
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const worker = async (): Promise<void> => {
    for (let i = next++; i < total; i = next++) {
      const t0 = performance.now();
      try {
        await target.write(i);
        latencies.push(performance.now() - t0);
      } catch (e) {
        failed++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return {
    concurrency,
    writes: latencies.length,
    failed,
    seconds: round(seconds, 2),
    throughput: { value: round(latencies.length / seconds, 0), unit: 'writes/s' },
    latency: summarizeMs(latencies),
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/** The JSON text of a ConfigMap in "default" whose one value is smallValue(valueIndex): what every Bramble write of these benches applies. */
export function smallConfigMap(name: string, valueIndex: number): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { v: smallValue(valueIndex) } });
}

/** A small value of about `bytes` characters, distinct per write. */
export function smallValue(i: number, bytes = 128): string {
  const head = `v${i}-`;
  return head + 'x'.repeat(Math.max(0, bytes - head.length));
}
