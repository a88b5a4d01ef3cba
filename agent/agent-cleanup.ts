// `bramble agent --cleanup`: takes away what the agent added to the board's
// network — our host-gw routes (proto 66), every Pod sandbox with a lease in
// this data dir (portmap rules, veth, netns, lease), the bridge, and whatever
// the registered hooks own (the Service rules' iptables chains). A plain stop
// of the agent leaves all of this in place on purpose: Pods keep running under
// edge autonomy and keep reaching each other; a reset of the board (or the
// reset playbook) calls this. Pods' containers are containerd's and are not
// touched here: stop them first, or their network goes away under them.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BrambleError } from '../proto/util/errors.js';
import { silentLogger, type Logger } from '../proto/util/log.js';
import { execRunner, type CommandRunner } from './exec-runner.js';
import { CniNetwork } from './network-cni.js';
import { HostGwRoutes, IpRouteTable } from './routes-hostgw.js';
import { realClock } from '../proto/util/clock.js';

/** Something else on the board that Bramble's agent owns, removed by --cleanup after the built-in steps (the Service rules' chains). */
export interface CleanupHook {
  name: string;
  cleanup(): Promise<void>;
}

export interface AgentCleanupOptions {
  dataDir: string;
  cniPath?: string;
  runner?: CommandRunner;
  logger?: Logger;
  bridgeName?: string;
  /** Run after the routes, sandboxes and bridge are gone; `bramble agent --cleanup` passes the Service rules'. */
  hooks?: readonly CleanupHook[];
}

export interface CleanupReport {
  routes: number;
  pods: number;
  bridge: boolean;
  hooks: string[];
}

export async function cleanupAgent(opts: AgentCleanupOptions): Promise<CleanupReport> {
  const runner = opts.runner ?? execRunner;
  const logger = opts.logger ?? silentLogger();
  const failures: string[] = [];
  const report: CleanupReport = { routes: 0, pods: 0, bridge: false, hooks: [] };
  const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      failures.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  await step('removing host-gw routes', async () => {
    report.routes = await new HostGwRoutes({ table: new IpRouteTable(runner), nodeName: '', clock: realClock, logger }).cleanup();
  });
  await step('removing pod sandboxes and the bridge', async () => {
    // host-local wants a valid range even to release: the node's own, as joined, or any.
    const joined = await readFile(path.join(opts.dataDir, 'network.json'), 'utf8').then((t) => JSON.parse(t) as { podCidr?: string; clusterCidr?: string }, () => undefined);
    const network = new CniNetwork({
      config: { podCIDR: joined?.podCidr || '10.42.0.0/24', clusterCIDR: joined?.clusterCidr || '10.42.0.0/16', bridgeName: opts.bridgeName ?? 'bramble0' },
      dataDir: opts.dataDir,
      cniPath: opts.cniPath,
      runner,
    });
    const r = await network.cleanup();
    report.pods = r.pods;
    report.bridge = r.bridge;
  });
  for (const hook of opts.hooks ?? []) {
    await step(`cleanup hook ${hook.name}`, async () => {
      await hook.cleanup();
      report.hooks.push(hook.name);
    });
  }
  logger.info({ ...report }, 'agent network cleaned up');
  if (failures.length > 0) throw new BrambleError('RUNTIME_FAILED', `cleanup must remove everything: ${failures.join('; ')}`);
  return report;
}
