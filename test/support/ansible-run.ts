// Runs the fleet playbooks against chroot hosts (support/chroot-host.ts) for the
// end-to-end test and the bench: the inventory, ansible-playbook with its recap
// read back, and `npm pack` of the checkout.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ChrootHost } from './chroot-host.js';
import { repoRoot } from './server-process.js';

export const ansibleDir = path.join(repoRoot(), 'ansible');
/** The controller's cache (Node.js builds, install trees) survives runs: the first run on a machine fills it. */
export const CONTROLLER_CACHE = '/var/cache/bramble-test/ansible-controller';

export interface PlayResult {
  code: number;
  output: string;
  /** PLAY RECAP per host: ok, changed, failed... */
  recap: Record<string, Record<string, number>>;
}

export function parseRecap(output: string): Record<string, Record<string, number>> {
  const recap: Record<string, Record<string, number>> = {};
  const at = output.lastIndexOf('PLAY RECAP');
  if (at < 0) return recap;
  for (const line of output.slice(at).split('\n').slice(1)) {
    const m = /^(\S+)\s+:\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    recap[m[1]!] = Object.fromEntries([...m[2]!.matchAll(/(\w+)=(\d+)/g)].map((x) => [x[1]!, Number(x[2])]));
  }
  return recap;
}

export function playbook(book: string, inventory: string, extra: string[] = []): Promise<PlayResult> {
  return new Promise((resolve) => {
    const child = spawn('ansible-playbook', ['-i', inventory, path.join(ansibleDir, book), ...extra], {
      // Pipelining (the chroot connection has it) sends each module on the interpreter's stdin instead
      // of copying it into the host and running it there: a chroot call or two a task instead of five.
      env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_HOST_KEY_CHECKING: 'false', ANSIBLE_RETRY_FILES_ENABLED: 'false', ANSIBLE_PIPELINING: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => resolve({ code: code ?? 1, output, recap: parseRecap(output) }));
  });
}

/** The hosts in their groups (the first server starts the cluster); vars for every host. */
export function fleetInventory(groups: { server: ChrootHost[]; agent: ChrootHost[] }, vars: Record<string, unknown>, hostVars: (h: ChrootHost) => Record<string, unknown> = () => ({})): string {
  const entries = (hs: ChrootHost[]) => Object.fromEntries(hs.map((h) => [h.name, { ansible_host: h.root, bramble_node_address: h.board.boardIp, ...hostVars(h) }]));
  // JSON is YAML: Ansible reads it as an inventory file.
  return JSON.stringify({
    bramble_cluster: {
      children: { server: { hosts: entries(groups.server) }, agent: { hosts: entries(groups.agent) } },
      vars: {
        ansible_connection: 'community.general.chroot',
        ansible_python_interpreter: '/usr/bin/python3',
        bramble_manage_services: false,
        bramble_reboot: false,
        bramble_log_level: 'warn',
        bramble_controller_cache_dir: CONTROLLER_CACHE,
        ...vars,
      },
    },
  }, null, 2);
}

export async function packBramble(dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(path.join(dir, out.trim().split('\n').pop()!)) : reject(new Error(`npm pack must succeed: ${code} ${err}`))));
  });
}

