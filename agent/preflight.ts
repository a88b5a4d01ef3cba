// `bramble check` and the agent's start: a preflight of the board. Every check is
// a pure function of what a HostProbe reads (files, commands, file systems), so
// each finding is tested both ways against the fake (preflight-probe-fake.ts) and
// the real probe (preflight-probe.ts) is exercised on this machine.
import type { CommandRunner } from './exec-runner.js';

export type Severity = 'fatal' | 'warning' | 'ok';

export interface Finding {
  /** The check's name, stable: what `--ignore-check` takes (cgroup, containerd, ...). */
  check: string;
  status: Severity;
  /** Stable code of the outcome, e.g. CGROUP_MEMORY_DISABLED, CONTAINERD_OK. */
  code: string;
  /** What was seen. */
  detail: string;
  /** The exact fix; empty when there is nothing to do. */
  fix: string;
}

export interface FsStats {
  /** statfs f_type: the file system's magic number. */
  type: number;
  /** Bytes an unprivileged writer may still use (f_bavail × f_bsize). */
  availableBytes: number;
}

/** What the checks may look at; real: preflight-probe.ts, fake: preflight-probe-fake.ts. */
export interface HostProbe extends CommandRunner {
  /** A file's text, or undefined when it does not exist or cannot be read. */
  readFile(file: string): Promise<string | undefined>;
  /** statfs of a path, or undefined when it does not exist. */
  statfs(file: string): Promise<FsStats | undefined>;
  isExecutable(file: string): Promise<boolean>;
  /** Connects to a unix socket once: undefined when something answers, else why not. */
  connect(socketPath: string): Promise<string | undefined>;
}

export interface PreflightOptions {
  containerdAddress: string;
  cniPath: string;
  dataDir: string;
  /** Epoch ms, from the injected clock. */
  now: number;
}

export type Check = (probe: HostProbe, opts: PreflightOptions) => Promise<Finding>;

export function finding(check: string, status: Severity, code: string, detail: string, fix = ''): Finding {
  return { check, status, code, detail, fix };
}

/** Every check, in the order people read them; a check that throws is a fatal finding of its own, never a crash. */
export async function runChecks(probe: HostProbe, opts: PreflightOptions, checks: readonly (readonly [string, Check])[]): Promise<Finding[]> {
  return Promise.all(
    checks.map(async ([name, check]) => {
      try {
        return await check(probe, opts);
      } catch (e) {
        return finding(name, 'fatal', 'CHECK_FAILED', `the check could not run: ${e instanceof Error ? e.message : String(e)}`, 'run `bramble check` as root');
      }
    }),
  );
}

/** The fatal findings that stop a start, after the ones a person chose to ignore. */
export function blockingFindings(findings: Finding[], ignore: readonly string[]): Finding[] {
  const all = ignore.includes('all');
  return findings.filter((f) => f.status === 'fatal' && !all && !ignore.includes(f.check));
}
