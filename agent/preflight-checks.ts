// Every preflight check of a board in one list, and what the agent does with
// the findings at start: log each, and refuse to start on a fatal one.
import type { Logger } from '../proto/util/log.js';
import { BrambleError } from '../proto/util/errors.js';
import { blockingFindings, runChecks, type Check, type Finding, type HostProbe, type PreflightOptions } from './preflight.js';
import { checkBridgeNetfilter, checkCgroups, checkForwarding, checkPageSize } from './preflight-kernel.js';
import { checkClock, checkDisk, checkMemory } from './preflight-resources.js';
import { checkCniPlugins, checkContainerd, checkIptables, checkRunc } from './preflight-runtime.js';

export const BOARD_CHECKS: readonly (readonly [string, Check])[] = [
  ['cgroup', checkCgroups],
  ['containerd', checkContainerd],
  ['runc', checkRunc],
  ['cni-plugins', checkCniPlugins],
  ['iptables', checkIptables],
  ['forwarding', checkForwarding],
  ['bridge-netfilter', checkBridgeNetfilter],
  ['clock', checkClock],
  ['disk', checkDisk],
  ['memory', checkMemory],
  ['page-size', checkPageSize],
];

export const CHECK_NAMES = BOARD_CHECKS.map(([name]) => name);

export function checkBoard(probe: HostProbe, opts: PreflightOptions): Promise<Finding[]> {
  return runChecks(probe, opts, BOARD_CHECKS);
}

/** The error a start ends with: every blocking finding with its fix, and the ways out. */
export function preflightFailed(blocking: Finding[]): BrambleError {
  const lines = blocking.map((f) => `${f.check} (${f.code}): ${f.detail}; fix: ${f.fix}`);
  return new BrambleError(
    'FAILED_PRECONDITION',
    `the board fails its preflight check, so the agent does not start: ${lines.join('; ')}. ` +
      '`bramble check` lists every finding; --ignore-check NAME (or all) starts anyway',
  );
}

/** Runs the checks at an agent's start; throws preflightFailed unless every fatal finding is ignored. */
export async function preflightAgent(probe: HostProbe, opts: PreflightOptions, ignore: readonly string[], logger: Logger): Promise<Finding[]> {
  const findings = await checkBoard(probe, opts);
  for (const f of findings) {
    const fields = { check: f.check, code: f.code, detail: f.detail, ...(f.fix ? { fix: f.fix } : {}) };
    if (f.status === 'ok') logger.debug(fields, 'preflight check passed');
    else if (f.status === 'warning') logger.warn(fields, 'preflight check warning');
    else if (blockingFindings([f], ignore).length === 0) logger.warn(fields, 'preflight check failed, ignored (--ignore-check)');
    else logger.error(fields, 'preflight check failed');
  }
  const blocking = blockingFindings(findings, ignore);
  if (blocking.length > 0) throw preflightFailed(blocking);
  return findings;
}
