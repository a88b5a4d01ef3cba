// How a client config follows the control plane's members: `bramble cluster status`
// and every other call (the members a replicated server sends with its answers) feed
// the same decision, so a copied admin.conf learns new members and forgets removed
// ones whichever command the person happens to run.
import { readClientConfig, serverList, writeClientConfig, type ClientConfig } from '../pki/client-config.js';

/**
 * The config's server list once it names every member and no other, or undefined when it
 * already does (in any order: members name themselves first, and an answer from another
 * member must not rewrite the file). The config's own server stays first whatever the members
 * advertise: it is how this machine reaches the cluster (a name, a tunnel), which an advertised
 * address need not be.
 */
export function learnedServers(cfg: Pick<ClientConfig, 'server' | 'servers'>, members: readonly string[]): string[] | undefined {
  const addresses = [...new Set(members.filter((a) => a !== ''))];
  if (addresses.length === 0) return undefined;
  const next = [cfg.server, ...addresses.filter((a) => a !== cfg.server)];
  const now = new Set(serverList(cfg));
  return now.size === next.length && next.every((a) => now.has(a)) ? undefined : next;
}

/**
 * Writes the members into the config file, atomically, when it does not list them yet. The
 * file is read again first: it may have changed since the command read it (another command
 * learned, a renewal wrote a new certificate), and that change is kept. Returns the list
 * written, or undefined when nothing needed writing.
 */
export async function writeLearnedServers(file: string, members: readonly string[]): Promise<string[] | undefined> {
  const cfg = await readClientConfig(file);
  const servers = learnedServers(cfg, members);
  if (servers === undefined) return undefined;
  await writeClientConfig(file, { ...cfg, servers });
  return servers;
}

/** What the CLI says when it rewrote the config, the same after cluster status and any other command. */
export function learnedNotice(file: string, servers: readonly string[]): string {
  return `${file} now lists the members' addresses: ${servers.join(', ')}\n`;
}
