// The hardware run's report: what was found on the board, each check passed or
// failed with what was read, and the idle figures of the control plane and the
// agent. Pure: board-run.ts gathers the facts, this judges them and prints them.
import { kubernetesArchOfMachine, type BoardModel } from './board-model.js';
import type { MemoryCgroup, Temperature } from './board-probes.js';
import type { IdleFigures } from './process-figures.js';

export const REPORT_KIND = 'bramble-hardware-report';
/** The architectures Bramble's boards have (Kubernetes' names). */
const BOARD_ARCHES = ['arm64', 'arm'];

export interface Check {
  name: 'model' | 'architecture' | 'temperature' | 'memory-cgroup' | 'iptables-backend' | 'container' | 'idle-figures';
  ok: boolean;
  detail: string;
}

export interface IdleMeasurement {
  windowSeconds: number;
  controlPlane: IdleFigures;
  agent: IdleFigures;
}

export interface HardwareReport {
  kind: typeof REPORT_KIND;
  reportVersion: 1;
  generatedAt: string;
  brambleVersion: string;
  board: {
    model: string;
    series: string | null;
    /** Kubernetes' name of the architecture Node.js runs as (what the agent reports). */
    architecture: string;
    kernel: string;
    memoryTotalBytes: number;
    temperatureCelsius: number | null;
  };
  checks: Check[];
  idle: IdleMeasurement | null;
  /** Every check passed. */
  ok: boolean;
}

/** Something that was either found or failed with a message. */
export type Outcome<T> = { value: T } | { error: string };

export interface ReportInput {
  generatedAt: Date;
  brambleVersion: string;
  model: BoardModel;
  architecture: string;
  kernel: string;
  memoryTotalBytes: number;
  temperature: Temperature;
  memoryCgroup: MemoryCgroup;
  /** The backend detect chose, its reason, and whether its save command ran. */
  iptables: Outcome<{ mode: string; reason: string; saveExitCode: number }>;
  /** `uname -m` as the busybox Pod printed it. */
  container: Outcome<{ machine: string; pod: string }>;
  idle: Outcome<IdleMeasurement>;
}

function check(name: Check['name'], ok: boolean, detail: string): Check {
  return { name, ok, detail };
}

export function buildReport(input: ReportInput): HardwareReport {
  const { model, architecture } = input;
  const checks: Check[] = [
    check('model', model.isRaspberryPi, model.model),
    check('architecture', BOARD_ARCHES.includes(architecture),
      BOARD_ARCHES.includes(architecture) ? architecture : `architecture must be one of ${BOARD_ARCHES.join(', ')}: Node.js runs as ${architecture}`),
    check('temperature', input.temperature.celsius !== null, input.temperature.detail),
    check('memory-cgroup', input.memoryCgroup.enabled, input.memoryCgroup.detail),
  ];
  if ('error' in input.iptables) checks.push(check('iptables-backend', false, input.iptables.error));
  else {
    const { mode, reason, saveExitCode } = input.iptables.value;
    checks.push(check('iptables-backend', saveExitCode === 0,
      saveExitCode === 0 ? `${mode} (${reason})` : `${mode} (${reason}), but its save command exited with ${saveExitCode}`));
  }
  if ('error' in input.container) checks.push(check('container', false, input.container.error));
  else {
    const { machine, pod } = input.container.value;
    const seen = kubernetesArchOfMachine(machine);
    checks.push(check('container', seen === architecture,
      seen === architecture
        ? `pod ${pod} ran busybox, which printed uname -m "${machine}"`
        : `pod ${pod} must run as ${architecture}: uname -m printed "${machine}"`));
  }
  if ('error' in input.idle) checks.push(check('idle-figures', false, input.idle.error));
  else checks.push(check('idle-figures', true, `measured over ${input.idle.value.windowSeconds} s`));
  return {
    kind: REPORT_KIND,
    reportVersion: 1,
    generatedAt: input.generatedAt.toISOString(),
    brambleVersion: input.brambleVersion,
    board: {
      model: model.model,
      series: model.series ?? null,
      architecture,
      kernel: input.kernel,
      memoryTotalBytes: input.memoryTotalBytes,
      temperatureCelsius: input.temperature.celsius,
    },
    checks,
    idle: 'value' in input.idle ? input.idle.value : null,
    ok: checks.every((c) => c.ok),
  };
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** What a person reads after the run: one line per check, then the idle figures. */
export function summaryText(r: HardwareReport, reportPath: string): string {
  const width = Math.max(...r.checks.map((c) => c.name.length));
  const lines = [`${r.board.model} (${r.board.architecture}, kernel ${r.board.kernel}, ${mib(r.board.memoryTotalBytes)}), Bramble ${r.brambleVersion}`];
  for (const c of r.checks) lines.push(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}`);
  if (r.idle) {
    lines.push(`idle over ${r.idle.windowSeconds} s:`);
    for (const [who, f] of [['control plane', r.idle.controlPlane], ['agent', r.idle.agent]] as const) {
      lines.push(`  ${who.padEnd(13)}  RSS ${mib(f.rssBytes)}  CPU ${f.cpuPercent.toFixed(2)}%  disk writes ${kib(f.writeBytesPerMinute)}/min`);
    }
  }
  lines.push(`${r.ok ? 'all checks passed' : `${r.checks.filter((c) => !c.ok).length} check(s) failed`}; report in ${reportPath}`);
  return `${lines.join('\n')}\n`;
}
