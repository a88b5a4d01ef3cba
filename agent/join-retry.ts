// A board's first join while the control plane may be electing a leader: a
// member that does not lead answers NOT_LEADER (naming the leader when it knows
// one), a member restarting cannot be reached. Both leave nothing done on the
// server, so the join goes to the named leader or the next member, round after
// round with the server list's back-off, until a deadline; then it fails and
// names every member tried and why. Any other failure (wrong token, a CA that
// is not the token's, a bad node name) is final at once: retrying cannot fix it.
import type { Clock } from '../proto/util/clock.js';
import { BrambleError, fromServiceError, LEADER_ADDRESS_FIELD } from '../proto/util/errors.js';
import type { Logger } from '../proto/util/log.js';
import { isFailoverError } from './node-connection.js';
import type { ServerList } from './server-list.js';

/** Long enough for an election and a server restart; a board started before its servers still gives up and says why. */
export const DEFAULT_JOIN_DEADLINE_MS = 120_000;
/** Longest one try may take (CA handshake plus the Join call), cut to what is left of the deadline. */
export const JOIN_TRY_TIMEOUT_MS = 30_000;
/** Shortest try worth making: below this the deadline is reached. */
const MIN_TRY_MS = 1_000;
const MAX_REASON_CHARS = 160;

export interface JoinRetryOptions<T> {
  servers: ServerList;
  /** One try at one member's HOST:PORT, to be over within timeoutMs. */
  joinAt(address: string, timeoutMs: number): Promise<T>;
  clock: Clock;
  logger: Logger;
  /** Default DEFAULT_JOIN_DEADLINE_MS. */
  deadlineMs?: number;
}

/** The leader's HOST:PORT a NOT_LEADER error names, if any. */
export function namedLeader(err: BrambleError): string | undefined {
  if (err.code !== 'NOT_LEADER') return undefined;
  return err.details.find((d) => d.path === LEADER_ADDRESS_FIELD)?.message;
}

export async function joinWithRetry<T>(opts: JoinRetryOptions<T>): Promise<T> {
  const deadlineMs = opts.deadlineMs ?? DEFAULT_JOIN_DEADLINE_MS;
  const started = opts.clock.now();
  const giveUpAt = started + deadlineMs;
  /** Each member tried, with its last answer, in the order first tried. */
  const tried = new Map<string, string>();
  for (let attempt = 1; ; attempt++) {
    const address = opts.servers.current();
    const left = giveUpAt - opts.clock.now();
    try {
      const result = await opts.joinAt(address, Math.max(MIN_TRY_MS, Math.min(JOIN_TRY_TIMEOUT_MS, left)));
      opts.servers.succeeded();
      if (attempt > 1) opts.logger.info({ server: address, attempts: attempt, elapsedMs: opts.clock.now() - started }, 'join taken after retries');
      return result;
    } catch (e) {
      if (!isFailoverError(e)) throw e;
      const err = fromServiceError(e);
      tried.set(address, `${err.code}: ${err.message.slice(0, MAX_REASON_CHARS)}`);
      const leader = namedLeader(err);
      const next = leader ? opts.servers.redirect(leader) : opts.servers.advance();
      const remaining = giveUpAt - opts.clock.now() - next.delayMs;
      if (remaining < MIN_TRY_MS) throw gaveUp(deadlineMs, attempt, tried);
      // No token or CSR here: only addresses, codes and the servers' own messages.
      opts.logger.info(
        { server: address, next: next.address, delayMs: next.delayMs, attempt, why: err.code, leftMs: remaining, err: err.message.slice(0, MAX_REASON_CHARS) },
        leader ? 'join not taken there; going to the leader it named' : 'join not taken there; trying the next control-plane member',
      );
      if (next.delayMs > 0) await opts.clock.sleep(next.delayMs);
    }
  }
}

function gaveUp(deadlineMs: number, attempts: number, tried: Map<string, string>): BrambleError {
  const list = [...tried].map(([address, why]) => `${address} (${why})`).join('; ');
  return new BrambleError(
    'UNAVAILABLE',
    `no control-plane member took the join within ${Math.round(deadlineMs / 1000)} s (${attempts} tries): tried ${list}; ` +
      'check that the servers run and one of them leads (bramble cluster status), then start the agent again',
  );
}
