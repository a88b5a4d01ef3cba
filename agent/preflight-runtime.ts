// What the agent runs Pods with: containerd (answering on its socket), runc, the
// CNI plugins it calls, and iptables with the backend the Service rules will use.
import path from 'node:path';
import { containerdSocketPath } from './containerd-probe.js';
import { detectIptablesBackend } from './iptables-backend.js';
import { finding, type Finding, type HostProbe, type PreflightOptions } from './preflight.js';
import type { RunResult } from './exec-runner.js';

const COMMAND_TIMEOUT_MS = 5_000;
/** The plugins network-cni.ts calls (the Pod's lo is set up with `ip`, so no loopback plugin). */
export const CNI_PLUGINS = ['bridge', 'host-local', 'portmap'] as const;

/** undefined when the command is not there (could not run, or exit 127 as a wrapper reports it). */
async function tryRun(probe: HostProbe, file: string, args: string[]): Promise<RunResult | undefined> {
  try {
    const r = await probe.run(file, args, { timeoutMs: COMMAND_TIMEOUT_MS });
    return r.exitCode === 127 ? undefined : r;
  } catch {
    return undefined;
  }
}

function firstLine(r: RunResult): string {
  return `${r.stderr}${r.stdout}`.trim().split('\n')[0] ?? '';
}

export async function checkIptables(probe: HostProbe): Promise<Finding> {
  const version = await tryRun(probe, 'iptables', ['--version']);
  if (!version || version.exitCode !== 0) {
    return finding('iptables', 'fatal', 'IPTABLES_MISSING', 'iptables is not installed: Services and hostPorts need it', 'apt install iptables');
  }
  const backend = await detectIptablesBackend(probe);
  return finding('iptables', 'ok', backend.mode === 'nft' ? 'IPTABLES_NFT' : 'IPTABLES_LEGACY', `${version.stdout.trim()}; rules go to ${backend.iptables} (${backend.reason})`);
}

/** ctr version's "Server:" block: "  Version:  v1.6.20~ds1". */
export function serverVersion(text: string): string | undefined {
  const server = text.split(/^Server:/m)[1];
  return server?.match(/Version:\s*(\S+)/)?.[1];
}

export async function checkContainerd(probe: HostProbe, opts: PreflightOptions): Promise<Finding> {
  const socket = containerdSocketPath(opts.containerdAddress);
  const install = 'apt install containerd runc';
  const ctr = await tryRun(probe, 'ctr', ['--version']);
  if (!ctr) return finding('containerd', 'fatal', 'CONTAINERD_MISSING', 'ctr (containerd\'s client) is not installed', install);
  const reason = await probe.connect(socket);
  if (reason !== undefined) {
    return finding('containerd', 'fatal', 'CONTAINERD_UNREACHABLE', `containerd is not reachable at ${socket} (${reason})`,
      `systemctl enable --now containerd (not installed: ${install}; elsewhere: --containerd-address SOCK)`);
  }
  const r = await tryRun(probe, 'ctr', ['--address', socket, 'version']);
  const version = r && r.exitCode === 0 ? serverVersion(r.stdout) : undefined;
  if (version === undefined) {
    return finding('containerd', 'fatal', 'CONTAINERD_NOT_ANSWERING', `ctr --address ${socket} version failed: ${r ? firstLine(r) : 'it did not finish'}`,
      'systemctl restart containerd, then journalctl -u containerd for why it fails');
  }
  return finding('containerd', 'ok', 'CONTAINERD_OK', `containerd ${version} answers at ${socket}`);
}

export async function checkRunc(probe: HostProbe): Promise<Finding> {
  const r = await tryRun(probe, 'runc', ['--version']);
  if (!r || r.exitCode !== 0) return finding('runc', 'fatal', 'RUNC_MISSING', 'runc is not installed: containerd cannot start containers', 'apt install runc');
  return finding('runc', 'ok', 'RUNC_OK', r.stdout.trim().split('\n')[0] ?? 'runc');
}

export async function checkCniPlugins(probe: HostProbe, opts: PreflightOptions): Promise<Finding> {
  const missing: string[] = [];
  for (const p of CNI_PLUGINS) if (!(await probe.isExecutable(path.join(opts.cniPath, p)))) missing.push(p);
  if (missing.length > 0) {
    return finding('cni-plugins', 'fatal', 'CNI_PLUGINS_MISSING', `not in ${opts.cniPath} (or not executable): ${missing.join(', ')}`,
      `apt install containernetworking-plugins (installed elsewhere: --cni-path DIR)`);
  }
  return finding('cni-plugins', 'ok', 'CNI_PLUGINS_OK', `${CNI_PLUGINS.join(', ')} in ${opts.cniPath}`);
}
