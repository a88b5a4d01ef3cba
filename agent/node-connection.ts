// The agent's one connection to the control plane, moved from member to member.
// Every call and stream asks it for the current client and reports a failure
// with the generation it used: a failure that says the member is away
// (unreachable, timed out) or does not lead (NOT_LEADER) moves the connection
// to the next member, once per generation however many calls saw it fail;
// any other failure is the caller's to retry. Listeners hear each move and
// re-establish their streams on the new member. Nothing here touches the
// Pods: they keep running whichever member answers, or none.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { NodeClient } from '../proto/generated/bramble/v1/Node.js';
import type { Clock, Timer } from '../proto/util/clock.js';
import { BrambleError, fromServiceError, LEADER_ADDRESS_FIELD } from '../proto/util/errors.js';
import type { Logger } from '../proto/util/log.js';
import type { ServerList } from './server-list.js';

/** What the session and the network view need of a connection; a fixed one wraps a single client. */
export interface Connection {
  client(): NodeClient;
  /** Bumped on every move: a failure reported with an older one is already dealt with. */
  generation(): number;
  /** True when the failure moves (or already moved) the connection: wait for onMove instead of retrying. */
  failed(generation: number, err: unknown): boolean;
  /** The member answered: the next failure starts a fresh round. */
  succeeded(generation: number): void;
  /** A server's list of members (from a heartbeat's answer). */
  learn(servers: unknown): void;
  /**
   * After a move: `sameMember` when the next member is the one already used (a single
   * address): streams still open there may stay, only the ended ones are opened again.
   */
  onMove(listener: (address: string, sameMember: boolean) => void): () => void;
}

/** A member away or not leading: moving to the next one is safe (none of these acted on the request). */
export function isFailoverError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  // Already read from the wire (the join's calls): a transport failure reads as UNAVAILABLE.
  if (err instanceof BrambleError) return err.code === 'NOT_LEADER' || err.code === 'UNAVAILABLE';
  if (fromServiceError(err).code === 'NOT_LEADER') return true;
  const code = (err as { code?: unknown }).code;
  return code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED;
}

export interface NodeConnectionOptions {
  servers: ServerList;
  /** Makes a client for one member's HOST:PORT. */
  dial(address: string): NodeClient;
  clock: Clock;
  logger: Logger;
}

export class NodeConnection implements Connection {
  private current: NodeClient;
  private gen = 0;
  private pending: Timer | undefined;
  private closed = false;
  private readonly listeners = new Set<(address: string, sameMember: boolean) => void>();
  private dialled: string;

  constructor(private readonly opts: NodeConnectionOptions) {
    this.dialled = opts.servers.current();
    this.current = opts.dial(this.dialled);
  }

  address(): string {
    return this.opts.servers.current();
  }

  client(): NodeClient {
    return this.current;
  }

  generation(): number {
    return this.gen;
  }

  failed(generation: number, err: unknown): boolean {
    if (this.closed || !isFailoverError(err)) return false;
    // Another call saw the same member fail first: the move is made or on its way.
    if (generation !== this.gen || this.pending) return true;
    const from = this.opts.servers.current();
    const leader = fromServiceError(err).code === 'NOT_LEADER' ? fromServiceError(err).details.find((d) => d.path === LEADER_ADDRESS_FIELD)?.message : undefined;
    const { address, delayMs } = leader ? this.opts.servers.redirect(leader) : this.opts.servers.advance();
    const why = fromServiceError(err).code === 'NOT_LEADER' ? 'does not lead' : 'cannot be reached';
    this.opts.logger[delayMs > 0 ? 'warn' : 'info'](
      { from, to: address, delayMs, why, err: fromServiceError(err).message.slice(0, 200) },
      delayMs > 0 ? 'no control-plane member answered; trying again after a pause, pods keep running' : 'control-plane member not usable; moving to the next',
    );
    if (delayMs === 0) this.move(address);
    else this.pending = this.opts.clock.setTimeout(() => this.move(address), delayMs);
    return true;
  }

  succeeded(generation: number): void {
    if (generation === this.gen && !this.pending) this.opts.servers.succeeded();
  }

  learn(servers: unknown): void {
    this.opts.servers.learn(servers).catch((e: unknown) => this.opts.logger.warn({ err: String(e) }, 'the known servers could not be saved'));
  }

  onMove(listener: (address: string, sameMember: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A fresh channel to the same member (after the node certificate was renewed:
   * `dial` then uses the new one). Listeners hear a move, so every stream opens
   * again on the new channel; the Pods are not touched.
   */
  reconnect(): void {
    if (this.closed) return;
    this.pending?.cancel();
    this.pending = undefined;
    const address = this.opts.servers.current();
    this.dialled = '';
    this.move(address);
  }

  close(): void {
    this.closed = true;
    this.pending?.cancel();
    this.pending = undefined;
    this.current.close();
  }

  private move(address: string): void {
    this.pending = undefined;
    if (this.closed) return;
    const sameMember = address === this.dialled;
    // The same member again: its channel reconnects by itself, and streams still open on it stay.
    if (!sameMember) {
      this.current.close();
      this.current = this.opts.dial(address);
      this.dialled = address;
    }
    this.gen++;
    for (const l of [...this.listeners]) {
      try {
        l(address, sameMember);
      } catch (e) {
        this.opts.logger.error({ err: String(e) }, 'reconnecting after a move failed');
      }
    }
  }
}

/** One client for good (a single server, and tests): failures are never moves. */
export function fixedConnection(client: NodeClient): Connection {
  return {
    client: () => client,
    generation: () => 0,
    failed: () => false,
    succeeded: () => undefined,
    learn: () => undefined,
    onMove: () => () => undefined,
  };
}
