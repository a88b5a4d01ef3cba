// Time of ansible/site.yml for two hosts (a server and an agent: fresh Debian 12
// roots through Ansible's chroot connection, as test/ansible-site.e2e.test.ts
// makes them), and of a second run that has nothing to change. No systemd runs in
// a chroot (bramble_manage_services=false) and no server is started, so a given
// bramble_token stands in for the first server's: the figure is the play's own
// work (apt, Node.js, the Bramble release, units), not a server's start-up.
// Run alone with `npx tsx bench/ansible-site.ts` (root, debootstrap's cached root).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { pickFreeBoardIndex } from '../test/support/board.js';
import { createChrootHost, type ChrootHost } from '../test/support/chroot-host.js';
import { CONTROLLER_CACHE, packBramble, playbook, fleetInventory, type PlayResult } from '../test/support/ansible-run.js';
import { createLan, type Lan } from '../test/support/lan.js';
import { figure, makeTempDir, removeDir, type Figure } from './util.js';

export interface AnsibleSiteRun {
  seconds: Figure;
  changed: Record<string, number>;
}

export interface AnsibleSiteBenchReport {
  name: 'ansible-site';
  hosts: number;
  first: AnsibleSiteRun;
  second: AnsibleSiteRun;
  note: string;
}

async function timed(book: string, inventory: string): Promise<{ run: AnsibleSiteRun; result: PlayResult }> {
  const t0 = performance.now();
  const result = await playbook(book, inventory);
  const seconds = (performance.now() - t0) / 1000;
  if (result.code !== 0) throw new Error(`${book} must succeed: exited with ${result.code}:\n${result.output.slice(-4000)}`);
  const changed = Object.fromEntries(Object.entries(result.recap).map(([h, r]) => [h, r.changed ?? 0]));
  return { run: { seconds: figure(seconds, 's'), changed }, result };
}

export async function runAnsibleSiteBench(opts: { log: (m: string) => void }): Promise<AnsibleSiteBenchReport> {
  const dir = await makeTempDir('ansible-site');
  let lan: Lan | undefined;
  const hosts: ChrootHost[] = [];
  try {
    const pkg = await packBramble(dir);
    await mkdir(CONTROLLER_CACHE, { recursive: true });
    lan = await createLan('bsite', await pickFreeBoardIndex());
    const server = await createChrootHost('s1', lan);
    hosts.push(server);
    const agent = await createChrootHost('a1', lan);
    hosts.push(agent);
    const inventory = path.join(dir, 'inventory.json');
    await writeFile(inventory, fleetInventory({ server: [server], agent: [agent] }, { bramble_package: pkg, bramble_token: 'bench-stand-in-token' }));
    opts.log('site.yml on two fresh hosts');
    const first = await timed('site.yml', inventory);
    opts.log(`first run: ${first.run.seconds.value} s; second run`);
    const second = await timed('site.yml', inventory);
    return {
      name: 'ansible-site',
      hosts: 2,
      first: first.run,
      second: second.run,
      note: 'fresh debootstrap roots through the chroot connection, apt from deb.debian.org, the controller\'s cache (Node.js build, install tree) warm after its first run; no service started (no systemd in a chroot)',
    };
  } finally {
    for (const h of hosts.reverse()) await h.destroy().catch((e: unknown) => opts.log(`cleanup of ${h.name}: ${String(e)}`));
    await lan?.destroy().catch(() => undefined);
    await removeDir(dir).catch(() => undefined);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runAnsibleSiteBench({ log: (m) => process.stderr.write(`${m}\n`) }).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (e: unknown) => { process.stderr.write(`${String(e)}\n`); process.exitCode = 1; },
  );
}
