// A ServiceRules for unit tests of the agent: it keeps every snapshot it was given and
// the rule set each would produce, and touches no table.
import type { ServiceSyncReport, ServiceRules } from './service-proxy.js';
import { buildServiceRules, type ServiceRuleSet, type ServiceSnapshot } from './service-rules.js';

export class FakeServiceRules implements ServiceRules {
  readonly snapshots: ServiceSnapshot[] = [];
  started = false;
  stopped = false;
  cleanups = 0;
  private report: ServiceSyncReport | undefined;

  update(snapshot: ServiceSnapshot): void {
    this.snapshots.push(snapshot);
    const set = this.rules();
    const rulesTotal = set ? [...set.filter.values(), ...set.nat.values()].reduce((n, r) => n + r.length, 0) : 0;
    this.report = {
      full: this.snapshots.length === 1, durationMs: 0, rulesWritten: rulesTotal, rulesTotal,
      chainsWritten: set ? set.filter.size + set.nat.size : 0, chainsSkipped: 0, chainsDeleted: 0,
      jumpsInserted: 0, phasesMs: { read: 0, build: 0, restore: 0 }, missingBaseChains: [], finishedAt: 0,
    };
  }

  async start(): Promise<void> {
    this.started = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.started = false;
  }

  async cleanup(): Promise<void> {
    this.cleanups++;
    this.started = false;
  }

  async synced(): Promise<ServiceSyncReport> {
    if (!this.report) throw new Error('FakeServiceRules.synced() must follow an update(): no snapshot was given');
    return this.report;
  }

  lastSync(): ServiceSyncReport | undefined {
    return this.report;
  }

  /** The newest snapshot, or undefined before the first update(). */
  get latest(): ServiceSnapshot | undefined {
    return this.snapshots.at(-1);
  }

  /** The rule set the newest snapshot gives (what the real one would write). */
  rules(): ServiceRuleSet | undefined {
    const s = this.latest;
    return s ? buildServiceRules(s) : undefined;
  }
}
