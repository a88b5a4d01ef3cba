// The control-plane members an agent knows: the addresses it was started with
// plus the latest list a server told it, kept in <data-dir>/servers.json so a
// board rebooted while its first server is gone still finds the cluster. The
// agent talks to one member at a time and moves round robin to the next when
// that one cannot be reached or does not lead; after a full round without an
// answer it waits (with back-off) before the next round, so a board whose
// whole control plane is down does not spin.
import path from 'node:path';
import { parseHostPort } from '../proto/names.js';
import { readIfExists, writeFileAtomic } from '../proto/util/files.js';
import type { Logger } from '../proto/util/log.js';
import { backoffDelay, type BackoffPolicy } from '../proto/util/work-queue.js';

/** Most members a list may hold: Raft clusters have 3 or 5, anything far beyond is not a member list. */
export const MAX_SERVERS = 16;
export const SERVERS_FILE = 'servers.json';
const ROUND_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000 };

/** Where the learned list is kept; a fake in tests. */
export interface ServerListStore {
  load(): Promise<string[] | undefined>;
  save(servers: string[]): Promise<void>;
}

/** Why an address cannot be dialled, or undefined when it can. */
export function serverAddressProblem(address: string): string | undefined {
  const parsed = parseHostPort(address);
  if (!parsed) return `must be HOST:PORT with a port from 1 to 65535: current value is "${address.slice(0, 80)}"`;
  if (parsed.port === 0) return `port must be 1-65535: current value is "${address.slice(0, 80)}"`;
  return undefined;
}

/** A list from the wire or from disk, checked: only dialable addresses, no duplicates, at most MAX_SERVERS. */
export function checkedServers(value: unknown): { servers: string[]; problems: string[] } {
  const problems: string[] = [];
  const servers: string[] = [];
  if (!Array.isArray(value)) return { servers, problems: ['must be a list of HOST:PORT strings'] };
  for (const v of value) {
    if (typeof v !== 'string') {
      problems.push(`must hold only strings: found a ${typeof v}`);
      continue;
    }
    const problem = serverAddressProblem(v);
    if (problem) problems.push(problem);
    else if (!servers.includes(v)) servers.push(v);
  }
  if (servers.length > MAX_SERVERS) {
    problems.push(`must hold no more than ${MAX_SERVERS} servers: current count is ${servers.length}`);
    servers.length = MAX_SERVERS;
  }
  return { servers, problems };
}

/** <data-dir>/servers.json, replaced atomically; an unreadable or garbled file is treated as absent. */
export function serverListFile(dataDir: string, logger?: Logger): ServerListStore {
  const file = path.join(dataDir, SERVERS_FILE);
  return {
    async load() {
      let text: string | undefined;
      try {
        text = await readIfExists(file);
      } catch (e) {
        logger?.warn({ file, err: String(e) }, 'the known servers cannot be read; using the --server list only');
        return undefined;
      }
      if (text === undefined) return undefined;
      let parsed: unknown;
      try {
        parsed = (JSON.parse(text) as { servers?: unknown } | null)?.servers;
      } catch {
        logger?.warn({ file }, 'the known servers file is not JSON; using the --server list only');
        return undefined;
      }
      const { servers, problems } = checkedServers(parsed);
      if (problems.length > 0) logger?.warn({ file, problems: problems.slice(0, 3) }, 'some known servers skipped');
      return servers;
    },
    save: (servers) => writeFileAtomic(file, JSON.stringify({ servers }, null, 2) + '\n', 0o644, { fsync: true }),
  };
}

export class ServerList {
  private learned: string[] = [];
  private currentAddress: string;
  /** Addresses tried without an answer since the last success. */
  private misses = 0;
  private rounds = 0;

  constructor(
    private readonly given: string[],
    private readonly opts: { store?: ServerListStore; logger?: Logger } = {},
  ) {
    if (given.length === 0) throw new Error('a server list needs at least one address');
    this.currentAddress = given[0]!;
  }

  /** Reads the list learned before a restart; the current address stays the first given. */
  async loadPersisted(): Promise<void> {
    const servers = await this.opts.store?.load();
    if (servers) this.learned = servers;
  }

  /** Every known member: the given ones first (the operator's order), then the learned ones. */
  all(): string[] {
    return [...new Set([...this.given, ...this.learned])];
  }

  current(): string {
    return this.currentAddress;
  }

  /**
   * The current member did not answer, or does not lead: the next one, and how long to
   * wait before dialling it (0 within a round, a back-off once every member was tried).
   */
  advance(): { address: string; delayMs: number } {
    const all = this.all();
    const i = all.indexOf(this.currentAddress);
    // A current address no longer listed: the round starts again from the first.
    this.currentAddress = all[(i + 1) % all.length]!;
    return { address: this.currentAddress, delayMs: this.miss(all.length) };
  }

  /** One more member tried without an answer: 0, or a back-off once a whole round of `members` went by. */
  private miss(members: number): number {
    this.misses++;
    if (this.misses < members) return 0;
    this.misses = 0;
    this.rounds++;
    return backoffDelay(this.rounds, ROUND_BACKOFF);
  }

  /**
   * The current member does not lead and named the leader's address: that one next, added to
   * the learned list when missing (the next heartbeat's answer brings the whole list). Counts as
   * a miss, so members naming each other still get the round's pause.
   */
  redirect(address: string): { address: string; delayMs: number } {
    if (serverAddressProblem(address) !== undefined || address === this.currentAddress) return this.advance();
    if (!this.all().includes(address)) this.learned = [...this.learned, address].slice(0, MAX_SERVERS);
    const all = this.all();
    if (!all.includes(address)) return this.advance();
    this.currentAddress = address;
    return { address, delayMs: this.miss(all.length) };
  }

  /** The current member answered: the next failure starts a new round without waiting. */
  succeeded(): void {
    this.misses = 0;
    this.rounds = 0;
  }

  /**
   * A server's list of members replaces the learned one and is persisted; an empty list is
   * no news (a server that does not know its peers). Returns whether anything changed.
   */
  async learn(value: unknown): Promise<boolean> {
    const { servers, problems } = checkedServers(value);
    if (problems.length > 0) this.opts.logger?.warn({ problems: problems.slice(0, 3) }, 'bad server addresses from the control plane skipped');
    if (servers.length === 0 || sameList(servers, this.learned)) return false;
    this.learned = servers;
    this.opts.logger?.info({ servers }, 'control-plane members learned');
    await this.opts.store?.save(servers);
    return true;
  }
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
