// How a client config follows the control plane's members: `bramble cluster status`
// and every other call (the members a replicated server sends with its answers) feed
// the same decision, so a copied admin.conf learns new members and forgets removed
// ones whichever command the person happens to run. The connection (cli-client.ts)
// hands every answer's headers to membersLearner.
import type * as grpc from '@grpc/grpc-js';
import { decodeMembers, MEMBERS_METADATA_KEY } from '../api/members-metadata.js';
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

export interface ClientLog {
  /** A line the person should see (stderr). */
  notice(text: string): void;
  /** A line for whoever debugs (stderr with BRAMBLE_LOG_LEVEL=debug). */
  debug(text: string): void;
}

/** The CLI's: notices on stderr, debug lines too when BRAMBLE_LOG_LEVEL is debug or trace. */
export function stderrClientLog(io: { stderr: { write(text: string): unknown }; env: NodeJS.ProcessEnv }): ClientLog {
  const debug = /^(debug|trace)$/i.test(io.env.BRAMBLE_LOG_LEVEL ?? '');
  return {
    notice: (text) => { io.stderr.write(text); },
    debug: (text) => { if (debug) io.stderr.write(`debug: ${text}\n`); },
  };
}

/**
 * What a connection does with the members a replicated server names in its answers'
 * headers: nothing while they are the ones the config lists (compared in memory, no file
 * read), else the config file is rewritten as `bramble cluster status` would, once, and the
 * new members become failover targets of this connection. Never throws: a bad list or a file
 * that cannot be written costs a debug line, never the command.
 */
export function membersLearner(cfg: ClientConfig, configPath: string, addresses: string[], log?: ClientLog): (headers: grpc.Metadata) => Promise<void> {
  let known: Pick<ClientConfig, 'server' | 'servers'> = cfg;
  return async (headers) => {
    try {
      const decoded = decodeMembers(headers.get(MEMBERS_METADATA_KEY));
      if (decoded === undefined) return;
      if ('problem' in decoded) {
        log?.debug(`the members a server sent were ignored: ${decoded.problem}`);
        return;
      }
      const servers = learnedServers(known, decoded.servers);
      if (servers === undefined) return;
      // Before the write: answers arriving meanwhile find nothing new.
      known = { server: known.server, servers };
      for (const a of servers) if (!addresses.includes(a)) addresses.push(a);
      const written = await writeLearnedServers(configPath, decoded.servers);
      if (written !== undefined) log?.notice(learnedNotice(configPath, written));
    } catch (e) {
      log?.debug(`${configPath} could not be updated with the members' addresses: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}
