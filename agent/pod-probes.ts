// Liveness and readiness probes, one worker per running attempt and probe kind.
// A worker waits initialDelaySeconds from the container's start, then probes
// every periodSeconds; thresholds count consecutive results. Verdicts are kept
// here and the reconciler is told (onChange) when one flips: it kills a
// container whose liveness failed and reports readiness in the Pod's status.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Clock, Timer } from '../proto/util/clock.js';
import type { Container, Pod, Probe } from '../proto/model.js';
import type { ContainerInfo, ContainerRuntime } from './runtime.js';
import { longRunningOf } from './pod-init-containers.js';
import { grpcHealthCheck, type GrpcProbeRequest } from './probe-grpc.js';

export interface HttpProbeRequest {
  host: string;
  port: number;
  path: string;
  scheme: 'HTTP' | 'HTTPS';
  timeoutMs: number;
}

/** The network side of probes, injected so unit tests need no sockets. */
export interface ProbeTransport {
  httpGet(req: HttpProbeRequest): Promise<{ statusCode: number }>;
  tcpConnect(req: { host: string; port: number; timeoutMs: number }): Promise<void>;
  /** grpc.health.v1.Health/Check; absent: the real one (probe-grpc.ts). */
  grpcCheck?(req: GrpcProbeRequest): Promise<{ status: string }>;
}

export const nodeProbeTransport: ProbeTransport = {
  httpGet: (req) =>
    new Promise((resolve, reject) => {
      const mod = req.scheme === 'HTTPS' ? https : http;
      // Like the kubelet, HTTPS probes do not verify the certificate.
      const r = mod.get(
        { host: req.host, port: req.port, path: req.path, timeout: req.timeoutMs, rejectUnauthorized: false, headers: { 'user-agent': 'bramble-probe/1.0' } },
        (res) => {
          res.resume();
          resolve({ statusCode: res.statusCode ?? 0 });
        },
      );
      r.on('timeout', () => r.destroy(new Error(`timed out after ${req.timeoutMs} ms`)));
      r.on('error', reject);
    }),
  tcpConnect: (req) =>
    new Promise((resolve, reject) => {
      const s = net.connect({ host: req.host, port: req.port, timeout: req.timeoutMs });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('timeout', () => s.destroy(new Error(`timed out after ${req.timeoutMs} ms`)));
      s.once('error', reject);
    }),
  grpcCheck: grpcHealthCheck,
};

export interface ProbeContext {
  runtime: ContainerRuntime;
  transport: ProbeTransport;
  clock: Clock;
  container: Container;
  containerId: string;
  podIP?: string;
}

export interface ProbeResult {
  ok: boolean;
  message: string;
}

/** Runs one probe once; never throws. */
export async function runProbe(probe: Probe, ctx: ProbeContext): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  let timer: Timer | undefined;
  const timeout = new Promise<ProbeResult>((resolve) => {
    timer = ctx.clock.setTimeout(() => resolve({ ok: false, message: `probe timed out after ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([attempt(probe, ctx, timeoutMs), timeout]);
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  } finally {
    timer?.cancel();
  }
}

async function attempt(probe: Probe, ctx: ProbeContext, timeoutMs: number): Promise<ProbeResult> {
  if (probe.exec) {
    const r = await ctx.runtime.exec(ctx.containerId, probe.exec.command, timeoutMs);
    return { ok: r.exitCode === 0, message: `exec exited with ${r.exitCode}: ${(r.stderr || r.stdout).trim()}` };
  }
  if (probe.grpc) {
    const host = ctx.podIP;
    if (!host) return { ok: false, message: 'probe needs the pod IP: the pod has none yet' };
    const check = ctx.transport.grpcCheck ?? grpcHealthCheck;
    const { status } = await check({ host, port: probe.grpc.port, service: probe.grpc.service ?? '', timeoutMs });
    return { ok: status === 'SERVING', message: `gRPC health check answered ${status}` };
  }
  const target = probe.httpGet ?? probe.tcpSocket;
  if (!target) return { ok: false, message: 'probe must have exec, httpGet, tcpSocket or grpc: it has none' };
  const port = resolvePort(target.port, ctx.container);
  const host = target.host ?? ctx.podIP;
  if (port === undefined) return { ok: false, message: `probe port must be a number or a named port of the container: "${target.port}" is neither` };
  if (!host) return { ok: false, message: 'probe needs the pod IP: the pod has none yet' };
  if (probe.httpGet) {
    const { statusCode } = await ctx.transport.httpGet({ host, port, path: probe.httpGet.path ?? '/', scheme: probe.httpGet.scheme ?? 'HTTP', timeoutMs });
    return { ok: statusCode >= 200 && statusCode < 400, message: `HTTP probe answered ${statusCode}` };
  }
  await ctx.transport.tcpConnect({ host, port, timeoutMs });
  return { ok: true, message: 'TCP connect succeeded' };
}

export function resolvePort(port: number | string, container: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

interface Worker {
  id: string;
  timers: Timer[];
  inFlight: boolean;
  successes: number;
  failures: number;
  /** readiness: ready; liveness: still alive; startup: has succeeded. */
  ok: boolean;
  /** startup: gave up after failureThreshold failures (the attempt is killed, as for liveness). */
  failed?: boolean;
}

export interface PodProberOptions {
  clock: Clock;
  runtime: ContainerRuntime;
  transport?: ProbeTransport;
  /** Called with the Pod's uid when a verdict flips. */
  onChange(uid: string): void;
  /** Called on every failed probe (the kubelet's Unhealthy event), with the probe's message. */
  onFailure?(uid: string, container: string, kind: ProbeKind, message: string): void;
}

export class PodProber {
  private readonly workers = new Map<string, Worker>();
  private readonly podIPs = new Map<string, string | undefined>();

  constructor(private readonly opts: PodProberOptions) {}

  /** Starts and stops workers so each running attempt with a probe has one. */
  sync(pod: Pod, running: ReadonlyMap<string, ContainerInfo>, podIP: string | undefined): void {
    const uid = pod.metadata.uid ?? '';
    this.podIPs.set(uid, podIP);
    const keep = new Set<string>();
    for (const c of longRunningOf(pod)) {
      const info = running.get(c.name);
      // A startup probe holds back the others until it has succeeded once.
      const startup = c.startupProbe && info ? this.workers.get(`${uid}/${c.name}/startup`) : undefined;
      const gated = !!c.startupProbe && !(startup?.id === info?.id && startup?.ok);
      for (const [kind, probe] of [['startup', c.startupProbe], ['liveness', c.livenessProbe], ['readiness', c.readinessProbe]] as const) {
        if (!probe || !info || (kind !== 'startup' && gated)) continue;
        const key = `${uid}/${c.name}/${kind}`;
        keep.add(key);
        if (this.workers.get(key)?.id !== info.id) this.startWorker(key, uid, kind, probe, c, info);
      }
    }
    for (const key of [...this.workers.keys()]) {
      if (key.startsWith(`${uid}/`) && !keep.has(key)) this.stopWorker(key);
    }
  }

  /** Ready when the container has no readiness probe, or its probe has succeeded enough. */
  ready(uid: string, container: Container, id: string): boolean {
    if (!this.started(uid, container, id)) return false;
    if (!container.readinessProbe) return true;
    const w = this.workers.get(`${uid}/${container.name}/readiness`);
    return w?.id === id && w.ok;
  }

  livenessFailed(uid: string, name: string, id: string): boolean {
    const w = this.workers.get(`${uid}/${name}/liveness`);
    const s = this.workers.get(`${uid}/${name}/startup`);
    return (w?.id === id && !w.ok) || (s?.id === id && s.failed === true);
  }

  /** Started (the status field): no startup probe, or it has succeeded for this attempt. */
  started(uid: string, container: Container, id: string): boolean {
    if (!container.startupProbe) return true;
    const w = this.workers.get(`${uid}/${container.name}/startup`);
    return w?.id === id && w.ok;
  }

  stopPod(uid: string): void {
    for (const key of [...this.workers.keys()]) if (key.startsWith(`${uid}/`)) this.stopWorker(key);
    this.podIPs.delete(uid);
  }

  stopAll(): void {
    for (const key of [...this.workers.keys()]) this.stopWorker(key);
  }

  private startWorker(key: string, uid: string, kind: ProbeKind, probe: Probe, container: Container, info: ContainerInfo): void {
    this.stopWorker(key);
    const { clock } = this.opts;
    // Liveness starts presumed alive, readiness presumed not ready, as in Kubernetes.
    const w: Worker = { id: info.id, timers: [], inFlight: false, successes: 0, failures: 0, ok: kind === 'liveness' };
    this.workers.set(key, w);
    const periodMs = (probe.periodSeconds ?? 10) * 1000;
    const delayMs = Math.max(0, (info.startedAt ?? clock.now()) + (probe.initialDelaySeconds ?? 0) * 1000 - clock.now());
    const tick = (): void => void this.probeOnce(key, uid, kind, probe, container, w);
    w.timers.push(
      clock.setTimeout(() => {
        tick();
        w.timers.push(clock.setInterval(tick, periodMs));
      }, delayMs),
    );
  }

  private async probeOnce(key: string, uid: string, kind: ProbeKind, probe: Probe, container: Container, w: Worker): Promise<void> {
    if (w.inFlight || this.workers.get(key) !== w) return;
    w.inFlight = true;
    const r = await runProbe(probe, {
      runtime: this.opts.runtime,
      transport: this.opts.transport ?? nodeProbeTransport,
      clock: this.opts.clock,
      container,
      containerId: w.id,
      podIP: this.podIPs.get(uid),
    });
    w.inFlight = false;
    if (this.workers.get(key) !== w) return;
    if (r.ok) {
      w.successes++;
      w.failures = 0;
    } else {
      w.failures++;
      w.successes = 0;
      this.opts.onFailure?.(uid, container.name, kind, r.message);
    }
    const before = w.ok;
    if (!r.ok && w.failures >= (probe.failureThreshold ?? 3)) w.ok = false;
    // Liveness needs one success only (Kubernetes requires successThreshold 1 there).
    if (r.ok && w.successes >= (kind === 'liveness' ? 1 : probe.successThreshold ?? 1)) w.ok = true;
    if (kind === 'startup') {
      w.ok = before || r.ok;
      if (!w.ok && w.failures >= (probe.failureThreshold ?? 3)) w.failed = true;
      // Done either way: started for good, or the attempt is going to be killed.
      if (w.ok || w.failed) for (const t of w.timers) t.cancel();
      if (w.ok !== before || w.failed) this.opts.onChange(uid);
      return;
    }
    if (kind === 'liveness' && !w.ok) {
      // The attempt is going to be killed: stop probing it, keep the verdict.
      for (const t of w.timers) t.cancel();
    }
    if (before !== w.ok) this.opts.onChange(uid);
  }

  private stopWorker(key: string): void {
    const w = this.workers.get(key);
    if (!w) return;
    for (const t of w.timers) t.cancel();
    this.workers.delete(key);
  }
}
