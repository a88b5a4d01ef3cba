// Keeps the board's Service rules in step with the cluster: the agent hands every new
// snapshot of Services and Endpoints to update(), and ServiceProxy writes the rules
// through one `iptables-restore --noflush` per sync (kube-proxy's iptables proxier).
//
// Timing, as kube-proxy's BoundedFrequencyRunner: a change after a quiet period is
// applied at once; changes in a burst are coalesced so syncs start at most every
// minSyncPeriod; a full resync runs every syncPeriod and after any failure. A partial
// sync rewrites only the chains whose rules changed (compared with what the last
// successful restore wrote), a full sync rewrites every chain, deletes stale ones found
// by iptables-save, and puts back missing jumps from the built-in chains (in the same
// restore), so drift (someone flushed a chain, a firewall reload) is repaired.
import type { Clock, Timer } from '../proto/util/clock.js';
import { BrambleError } from '../proto/util/errors.js';
import type { Logger } from '../proto/util/log.js';
import type { CommandRunner } from './exec-runner.js';
import type { IptablesBackend } from './iptables-backend.js';
import { jumpDeleteLines, missingJumpLines } from './iptables-jumps.js';
import { staleUdpFlows, udpTargets, type UdpPortTargets } from './service-conntrack.js';
import { ServiceRulesCache, buildServiceRules, type ServiceSnapshot } from './service-rules.js';
import {
  TABLES, emptyExisting, finishPlan, missingBaseChains, parseSavedChains, planChains, planCleanup, splitSavedTables,
  type ExistingChains, type TableName, type WrittenState,
} from './service-rules-restore.js';

export interface ServiceSyncReport {
  full: boolean;
  /** Wall time of the sync, by the injected clock. */
  durationMs: number;
  /** `-A` lines sent in this restore, and held by Bramble's chains afterwards. */
  rulesWritten: number;
  rulesTotal: number;
  chainsWritten: number;
  /** Chains left alone because they did not change (partial syncs). */
  chainsSkipped: number;
  chainsDeleted: number;
  /** Jumps from built-in chains that were missing and inserted in the restore (full syncs only). */
  jumpsInserted: number;
  /** Where the time went: waiting for the tables read back (full syncs, beyond the build it overlaps), building the rules and the input, the restore. */
  phasesMs: { read: number; build: number; restore: number };
  /** Base chains a full sync found missing before it rewrote them: drift. */
  missingBaseChains: string[];
  finishedAt: number;
}

/** What the agent (and its tests) need from the Service rules. */
export interface ServiceRules {
  /** The newest snapshot; applied soon, coalesced with others. */
  update(snapshot: ServiceSnapshot): void;
  /** Arms the periodic resync; the first sync waits for the first snapshot (no empty rule set at boot). */
  start(): Promise<void>;
  /** Stops syncing and waits for a sync under way; the rules stay (a restart keeps Services working). */
  stop(): Promise<void>;
  /** Deletes every Bramble chain and the jumps into them: `bramble agent --cleanup`. */
  cleanup(): Promise<void>;
  /** Resolves when every snapshot given so far is in the tables; rejects if that sync fails. */
  synced(): Promise<ServiceSyncReport>;
  lastSync(): ServiceSyncReport | undefined;
}

export interface ServiceProxyOptions {
  runner: CommandRunner;
  backend: IptablesBackend;
  clock: Clock;
  logger: Logger;
  /** Least time between the starts of two syncs (default 1 s). */
  minSyncPeriodMs?: number;
  /** Time between full resyncs (default 60 s). */
  syncPeriodMs?: number;
  /** Called after every successful sync (metrics). */
  onSync?: (report: ServiceSyncReport) => void;
}

const COMMAND_TIMEOUT_MS = 60_000;

interface Waiter {
  generation: number;
  resolve: (r: ServiceSyncReport) => void;
  reject: (e: unknown) => void;
}

export class ServiceProxy implements ServiceRules {
  private readonly minSyncPeriodMs: number;
  private readonly syncPeriodMs: number;
  private snapshot: ServiceSnapshot | undefined;
  private generation = 0;
  private appliedGeneration = 0;
  /** What the last successful restore wrote; undefined forces a full sync. */
  private state: WrittenState | undefined;
  private needFull = true;
  private failures = 0;
  private lastStartAt = Number.NEGATIVE_INFINITY;
  private timer: Timer | undefined;
  private periodic: Timer | undefined;
  private running: Promise<void> | undefined;
  private started = false;
  private last: ServiceSyncReport | undefined;
  private waiters: Waiter[] = [];
  private syncs = 0;
  /** UDP service ports of the last applied snapshot, to find the flows a change leaves stale. */
  private udp: Map<string, UdpPortTargets> | undefined;
  /** False once `conntrack` turned out to be missing: said once, not on every sync. */
  private conntrackUsable = true;
  /** Each Service's rules from the last build, reused while its objects are the same. */
  private readonly cache = new ServiceRulesCache();

  constructor(private readonly opts: ServiceProxyOptions) {
    this.minSyncPeriodMs = opts.minSyncPeriodMs ?? 1_000;
    this.syncPeriodMs = opts.syncPeriodMs ?? 60_000;
    if (!(this.minSyncPeriodMs >= 0)) throw new BrambleError('INVALID_ARGUMENT', `minSyncPeriodMs must be zero or more: current value is ${this.minSyncPeriodMs}`);
    if (!(this.syncPeriodMs > 0)) throw new BrambleError('INVALID_ARGUMENT', `syncPeriodMs must be a positive number: current value is ${this.syncPeriodMs}`);
  }

  update(snapshot: ServiceSnapshot): void {
    this.snapshot = snapshot;
    this.generation++;
    this.schedule(0);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.periodic = this.opts.clock.setInterval(() => {
      this.needFull = true;
      if (this.snapshot) this.generation++;
      this.schedule(0);
    }, this.syncPeriodMs);
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.started = false;
    this.timer?.cancel();
    this.timer = undefined;
    this.periodic?.cancel();
    this.periodic = undefined;
    await this.running;
  }

  async cleanup(): Promise<void> {
    await this.stop();
    const { existing, saved } = await this.readTables();
    const deletes = { filter: jumpDeleteLines(saved.filter), nat: jumpDeleteLines(saved.nat) };
    const text = planCleanup(existing, deletes);
    if (text) await this.restore(text);
    this.state = undefined;
    this.needFull = true;
    const chains = TABLES.reduce((n, t) => n + existing[t].size, 0);
    const jumps = deletes.filter.length + deletes.nat.length;
    this.opts.logger.info({ jumps, chains }, 'service rules: removed every Bramble chain and jump');
  }

  synced(): Promise<ServiceSyncReport> {
    if (this.appliedGeneration >= this.generation && this.last && !this.running && !this.timer) return Promise.resolve(this.last);
    return new Promise((resolve, reject) => this.waiters.push({ generation: this.generation, resolve, reject }));
  }

  lastSync(): ServiceSyncReport | undefined {
    return this.last;
  }

  /** Arms the next sync: now if the last one started minSyncPeriod ago, else when it has. */
  private schedule(extraDelayMs: number): void {
    if (!this.started || !this.snapshot || this.running || this.timer) return;
    if (this.appliedGeneration >= this.generation) return;
    const wait = Math.max(extraDelayMs, this.lastStartAt + this.minSyncPeriodMs - this.opts.clock.now(), 0);
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.running = this.runSync().finally(() => {
        this.running = undefined;
        const backoff = this.failures > 0 ? Math.min(this.syncPeriodMs, this.minSyncPeriodMs * 2 ** (this.failures - 1)) : 0;
        this.schedule(backoff);
      });
    }, wait);
  }

  private async runSync(): Promise<void> {
    const generation = this.generation;
    const snapshot = this.snapshot!;
    this.lastStartAt = this.opts.clock.now();
    try {
      const report = await this.syncOnce(snapshot);
      await this.clearStaleUdp(snapshot);
      this.failures = 0;
      this.appliedGeneration = generation;
      this.last = report;
      this.opts.onSync?.(report);
      // The first sync says which backend and how much; the rest are routine.
      const level = this.syncs++ === 0 ? 'info' : 'debug';
      this.opts.logger[level]({ ...report, backend: this.opts.backend.mode }, 'service rules synced');
      this.settle((w) => w.generation <= generation, (w) => w.resolve(report));
    } catch (e) {
      this.failures++;
      this.state = undefined;
      this.needFull = true;
      this.opts.logger.warn({ err: e, failures: this.failures }, 'service rules: sync failed; a full resync follows');
      this.settle((w) => w.generation <= generation, (w) => w.reject(e));
    }
  }

  private settle(pick: (w: Waiter) => boolean, fn: (w: Waiter) => void): void {
    const done = this.waiters.filter(pick);
    this.waiters = this.waiters.filter((w) => !pick(w));
    for (const w of done) fn(w);
  }

  private async syncOnce(snapshot: ServiceSnapshot): Promise<ServiceSyncReport> {
    const clock = this.opts.clock;
    const t0 = clock.now();
    const full = this.needFull || !this.state;
    // A full sync reads the tables back in child processes: the rules are built meanwhile.
    const reading = full ? this.readTables() : undefined;
    reading?.catch(() => undefined);
    const b0 = clock.now();
    const set = buildServiceRules(snapshot, this.cache);
    // The bulk of the input too: only the stale chains and the jumps wait for the read.
    const chains = planChains(set, full ? undefined : this.state);
    const buildMs = clock.now() - b0;
    let existing: ExistingChains | undefined;
    let jumps: Record<TableName, string[]> | undefined;
    if (reading) {
      const tables = await reading;
      existing = tables.existing;
      jumps = missingJumpLines(tables.saved);
    }
    const t1 = clock.now();
    const plan = finishPlan(chains, { existing, extraLines: jumps });
    const t2 = clock.now();
    if (plan.text) await this.restore(plan.text);
    const t3 = clock.now();
    this.state = plan.state;
    const jumpsInserted = jumps ? jumps.filter.length + jumps.nat.length : 0;
    this.needFull = false;
    const missing = existing ? missingBaseChains(existing) : [];
    if (full && missing.length > 0 && existing && TABLES.some((t) => existing[t].size > 0)) {
      this.opts.logger.warn({ missing }, 'service rules: base chains had gone missing; rewritten');
    }
    return {
      full,
      durationMs: this.opts.clock.now() - t0,
      rulesWritten: plan.rulesWritten,
      rulesTotal: plan.rulesTotal,
      chainsWritten: plan.written.filter.length + plan.written.nat.length,
      chainsSkipped: plan.skipped,
      chainsDeleted: plan.deleted.filter.length + plan.deleted.nat.length,
      jumpsInserted,
      phasesMs: { read: t1 - t0 - buildMs, build: buildMs + t2 - t1, restore: t3 - t2 },
      missingBaseChains: missing,
      finishedAt: clock.now(),
    };
  }

  /** Deletes the conntrack entries of UDP flows whose endpoint is gone; never fails the sync. */
  private async clearStaleUdp(snapshot: ServiceSnapshot): Promise<void> {
    const next = udpTargets(snapshot);
    // The first sync of a (re)started agent knows no earlier state: it clears nothing, so
    // the flows that kept working through the restart are left alone.
    const commands = this.udp ? staleUdpFlows(this.udp, next) : [];
    this.udp = next;
    if (!this.conntrackUsable || commands.length === 0) return;
    for (const args of commands) {
      try {
        // Exit 1 means "0 flow entries have been deleted": nothing to clear.
        const r = await this.opts.runner.run('conntrack', args, { timeoutMs: 10_000 });
        if (r.exitCode === 127) throw new Error(r.stderr.trim() || 'conntrack: not found');
      } catch (e) {
        this.conntrackUsable = false;
        this.opts.logger.warn({ err: e }, 'service rules: the conntrack tool is missing: stale UDP flows to removed endpoints are not cleared (install the conntrack package)');
        return;
      }
    }
  }

  private async readTables(): Promise<{ existing: ExistingChains; saved: Record<TableName, string> }> {
    // One iptables-save of every table rather than one per table: starting a process is
    // a few milliseconds of the agent's own thread (fork of a large process), taken from
    // the build this read overlaps. The other tables it prints (mangle, raw) are ignored.
    const r = await this.opts.runner.run(this.opts.backend.save, [], { timeoutMs: COMMAND_TIMEOUT_MS });
    if (r.exitCode !== 0) {
      throw new BrambleError('RUNTIME_FAILED', `${this.opts.backend.save} must succeed: exited with ${r.exitCode}: ${r.stderr.trim()}`);
    }
    const saved = splitSavedTables(r.stdout);
    const existing = emptyExisting();
    for (const table of TABLES) existing[table] = parseSavedChains(saved[table]);
    return { existing, saved };
  }

  private async restore(text: string): Promise<void> {
    const r = await this.opts.runner.run(this.opts.backend.restore, ['-w', '5', '--noflush'], { input: text, timeoutMs: COMMAND_TIMEOUT_MS });
    if (r.exitCode !== 0) {
      throw new BrambleError('RUNTIME_FAILED', `${this.opts.backend.restore} --noflush must accept the Service rules: exited with ${r.exitCode}: ${r.stderr.trim()}`);
    }
  }
}
