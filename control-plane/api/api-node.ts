// The Node service: what agents call. Join is authenticated by a join token;
// every other call by the node's own certificate, and a node may only read
// what concerns it and write only its own status.
import type * as grpc from '@grpc/grpc-js';
import { caBundleSha256 } from '../../proto/util/ca-bundle.js';
import type { NodeHandlers } from '../../proto/generated/bramble/v1/Node.js';
import { recordNodeEvents, type EventReportSink } from './api-node-events.js';
import type { HeartbeatRequest__Output, RecordEventsRequest__Output, PodFigures__Output, NodeFigures__Output, PortConflict__Output, TunnelUp__Output } from '../../proto/types.js';
import type { Clock } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError, LEADER_ADDRESS_FIELD } from '../../proto/util/errors.js';
import { acquireStream, asBrambleError, sendFailure, serverStream, unary, type HandlerContext } from './grpc-util.js';
import type { JoinLimiter } from '../nodes/join-limiter.js';
import { peerAddress, type Identity } from '../pki/auth.js';
import { checkPodStatus, heartbeatProblems } from '../schema/schema-reports.js';
import { parseUntrustedJson } from '../../proto/util/untrusted-json.js';
import type { Metrics } from '../http/metrics.js';
import type { Logger } from '../../proto/util/log.js';
import type { KObject, NodeObject, Pod, PodStatus } from '../../proto/model.js';
import type { Store } from '../store/store.js';
import { retryOnConflict } from '../store/retry-on-conflict.js';
import { NetworkFeed } from '../nodes/node-network-feed.js';
import { AssignmentFeed } from '../nodes/node-assignments.js';
import { joinNode, type JoinDeps } from '../nodes/node-join.js';
import { renewNodeCertificate } from '../nodes/node-cert-renewal.js';
import { nodeAfterHeartbeat } from '../nodes/node-status.js';
import { stableJson } from '../../proto/util/json.js';
import type { TunnelRegistry } from '../nodes/node-tunnels.js';

/** Anything that can tell who called: every grpc-js server call can. */
export type AuthCall = Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getAuthContext' | 'getPeer'>;

export type NodeIdentity = Identity | undefined;

export interface HeartbeatSink {
  observe(nodeName: string, figures: NodeFigures__Output | null, pods: PodFigures__Output[], portConflicts?: PortConflict__Output[]): void;
}

export interface NodeApiDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  join: JoinDeps;
  /** Every CA the cluster trusts now (a function: a CA rotation changes it while the server runs). */
  caPem: string | (() => string);
  clusterCidr: string;
  serviceCidr: string;
  heartbeatIntervalSeconds: number;
  identity(call: AuthCall): NodeIdentity;
  heartbeats: HeartbeatSink;
  tunnels: TunnelRegistry;
  /** Refuses an address that failed to join too often; none: no limit (unit tests). */
  joinLimiter?: JoinLimiter;
  streams?: HandlerContext['streams'];
  /** Where the agents' events go (the server's EventSink); none: RecordEvents accepts and drops them. */
  events?: EventReportSink;
  /**
   * Whether this member leads the control plane. Heartbeats, live figures and tunnels live in
   * the leader's memory only, so agents must talk to the leader: elsewhere every call is
   * refused with NOT_LEADER, and open streams end with it when leadership is lost. None:
   * always the leader (a single server).
   */
  leader?: NodeApiLeader;
  /** HOST:PORT of every control-plane member, told to agents so they can fail over. None: agents hear no list. */
  servers?: () => string[];
}

/** The part of controllers/leadership.ts's Leadership the Node service needs, plus a name for the leader in errors. */
export interface NodeApiLeader {
  isLeader(): boolean;
  /** Called on every change; returns a function that unsubscribes. */
  onChange(listener: (leader: boolean) => void): () => void;
  /** Who leads, as far as this member knows, e.g. 'the leader is "pi-2" (192.168.1.12:7443)'. */
  describe(): string;
  /** HOST:PORT of the leader, when this member knows it. */
  leaderAddress?(): string | undefined;
}

function notLeader(deps: NodeApiDeps): BrambleError {
  const address = deps.leader?.leaderAddress?.();
  // The address as a field, not only in the text: an agent whose member list misses the new
  // leader (it took over before a heartbeat's answer named it) still finds it.
  return new BrambleError('NOT_LEADER', `this control-plane member does not lead and did not act on the request: ${deps.leader?.describe() ?? 'no leader known'}; agents talk to the leader`,
    address ? [{ path: LEADER_ADDRESS_FIELD, message: address }] : []);
}

/** First thing every handler does: a follower acts on nothing, so the agent may safely retry on the leader. */
function requireLeader(deps: NodeApiDeps): void {
  if (deps.leader && !deps.leader.isLeader()) throw notLeader(deps);
}

/** Calls `onLost` once when this member stops leading; returns the unsubscribe. */
function onLeadershipLost(deps: NodeApiDeps, onLost: () => void): () => void {
  if (!deps.leader) return () => undefined;
  let fired = false;
  return deps.leader.onChange((leader) => {
    if (leader || fired) return;
    fired = true;
    onLost();
  });
}

function trustBundle(deps: NodeApiDeps): string {
  return typeof deps.caPem === 'string' ? deps.caPem : deps.caPem();
}

function serverList(deps: NodeApiDeps): string[] {
  return deps.servers?.() ?? [];
}

/** The node name the caller's certificate was issued to; refuses anyone else. */
function callerNode(deps: NodeApiDeps, call: AuthCall, claimed: string): string {
  const id = deps.identity(call);
  if (!id) throw new BrambleError('UNAUTHENTICATED', 'no node certificate: join the cluster with a token first');
  if (id.kind !== 'node') throw new BrambleError('FORBIDDEN', 'only agents may call the Node service');
  if (claimed && claimed !== id.name) {
    throw new BrambleError('FORBIDDEN', `node "${id.name}" may not act for node "${claimed}"`);
  }
  return id.name;
}

interface FeedMessage {
  type: string;
  object?: KObject;
  revision: number;
}

/** Streams a feed's messages as JSON until the agent goes away, or ends it with NOT_LEADER when this member stops leading. */
function runFeed(
  deps: NodeApiDeps,
  call: { write(m: { type: string; object: string; revision: number }): unknown; once(event: string, fn: () => void): unknown },
  make: (send: (m: FeedMessage) => void) => { start(): void; cancel(): void },
): Promise<void> {
  const feed = make((m) => call.write({ type: m.type, object: m.object ? JSON.stringify(m.object) : '', revision: m.revision }));
  return new Promise<void>((resolve, reject) => {
    let unsubscribe = (): void => undefined;
    const stop = (): void => {
      unsubscribe();
      feed.cancel();
      resolve();
    };
    call.once('cancelled', stop);
    call.once('close', stop);
    call.once('error', stop);
    unsubscribe = onLeadershipLost(deps, () => {
      unsubscribe();
      feed.cancel();
      reject(notLeader(deps));
    });
    // Leadership may have gone between the handler's check and the subscription.
    if (deps.leader && !deps.leader.isLeader()) {
      unsubscribe();
      reject(notLeader(deps));
      return;
    }
    feed.start();
  });
}

export function nodeServiceHandlers(deps: NodeApiDeps): NodeHandlers {
  const ctx: HandlerContext = { logger: deps.logger, metrics: deps.metrics, streams: deps.streams };
  return {
    Join: unary(ctx, 'Join', async (req, call) => {
      requireLeader(deps);
      const source = peerAddress(call.getPeer());
      deps.joinLimiter?.check(source);
      const res = await joinNode(deps.join, req.token, req.nodeName, req.csrPem).catch((e: unknown) => {
        // Only a wrong token helps a guesser; a bad name or CSR from a real board should not lock it out.
        if (isBrambleError(e, 'TOKEN_INVALID') || isBrambleError(e, 'UNAUTHENTICATED') || isBrambleError(e, 'CA_MISMATCH')) {
          deps.joinLimiter?.recordFailure(source);
          deps.logger.warn({ source, errorCode: (e as BrambleError).code }, 'join refused: wrong token');
        }
        throw e;
      });
      deps.logger.info({ node: req.nodeName, podCidr: res.podCidr }, 'node joined');
      return {
        certificatePem: res.certificatePem,
        caPem: trustBundle(deps),
        podCidr: res.podCidr,
        clusterCidr: deps.clusterCidr,
        serviceCidr: deps.serviceCidr,
        servers: serverList(deps),
      };
    }),

    RenewCertificate: unary(ctx, 'RenewCertificate', async (req, call) => {
      requireLeader(deps);
      const name = callerNode(deps, call, '');
      const certificatePem = await renewNodeCertificate(deps.join, name, req.csrPem);
      deps.logger.info({ node: name }, 'renewed the node certificate');
      return { certificatePem, caPem: trustBundle(deps) };
    }),

    Heartbeat: unary(ctx, 'Heartbeat', async (req: HeartbeatRequest__Output, call) => {
      requireLeader(deps);
      const name = callerNode(deps, call, req.nodeName);
      const problems = heartbeatProblems(req);
      if (problems.length > 0) {
        throw new BrambleError('VALIDATION_FAILED', `heartbeat of node "${name}" is invalid: ${problems.slice(0, 3).map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems);
      }
      deps.heartbeats.observe(name, req.figures, req.pods, req.portConflicts ?? []);
      const nowIso = new Date(deps.clock.now()).toISOString();
      await retryOnConflict<NodeObject>(deps.store, { kind: 'Node', name }, (node) => nodeAfterHeartbeat(node, req, nowIso));
      // The bundle's hash: an agent whose ca.crt differs (a CA rotation began or ended) renews at once to get it.
      return { intervalSeconds: deps.heartbeatIntervalSeconds, servers: serverList(deps), caBundleSha256: caBundleSha256(trustBundle(deps)) };
    }),

    WatchAssignments: serverStream(ctx, 'WatchAssignments', async (call) => {
      requireLeader(deps);
      const name = callerNode(deps, call, call.request.nodeName);
      await runFeed(deps, call, (send) => new AssignmentFeed(deps.store, name, send));
    }),

    WatchNetwork: serverStream(ctx, 'WatchNetwork', async (call) => {
      requireLeader(deps);
      callerNode(deps, call, call.request.nodeName);
      await runFeed(deps, call, (send) => new NetworkFeed(deps.store, send));
    }),

    UpdatePodStatus: unary(ctx, 'UpdatePodStatus', async (req, call) => {
      requireLeader(deps);
      const name = callerNode(deps, call, '');
      if (req.name === '' || req.namespace === '') {
        throw new BrambleError('INVALID_ARGUMENT', `UpdatePodStatus needs the pod's namespace and name: current values are ${JSON.stringify(req.namespace)} and ${JSON.stringify(req.name)}`);
      }
      const subject = `pod "${req.namespace}/${req.name}"`;
      const status: PodStatus = checkPodStatus(parseUntrustedJson(req.status || '{}', { what: `status of ${subject}` }), subject);
      await retryOnConflict<Pod>(deps.store, { kind: 'Pod', namespace: req.namespace, name: req.name }, (pod) => {
        if (pod.spec.nodeName !== name) {
          throw new BrambleError('FORBIDDEN', `node "${name}" may not update pod "${req.namespace}/${req.name}": it is bound to "${pod.spec.nodeName ?? ''}"`);
        }
        // A pod recreated under the same name is another pod: the old one's report is stale.
        if (req.uid && pod.metadata.uid !== req.uid) return undefined;
        if (req.finalized && pod.metadata.deletionTimestamp) return 'delete';
        if (stableJson(pod.status ?? {}) === stableJson(status)) return undefined;
        return { ...pod, status };
      }).catch((e: unknown) => {
        // The pod was deleted meanwhile: nothing left to report on.
        if (!isBrambleError(e, 'NOT_FOUND')) throw e;
      });
      return {};
    }),

    RecordEvents: unary(ctx, 'RecordEvents', async (req: RecordEventsRequest__Output, call) => {
      requireLeader(deps);
      const name = callerNode(deps, call, req.nodeName);
      return { accepted: deps.events ? recordNodeEvents(deps.store, deps.events, name, req.events) : 0 };
    }),

    Tunnel: (call) => {
      let tunnel: ReturnType<TunnelRegistry['attach']> | undefined;
      let release: (() => void) | undefined;
      let refused = false;
      let unsubscribe = (): void => undefined;
      const refuse = (err: unknown): void => {
        if (refused) return;
        refused = true;
        const be = asBrambleError(err, 'Tunnel');
        deps.logger.info({ method: 'Tunnel', errorCode: be.code }, 'grpc call refused');
        close();
        sendFailure((se) => call.emit('error', se), be, ctx, 'Tunnel');
      };
      call.on('data', (msg: TunnelUp__Output) => {
        if (refused) return;
        try {
          if (!tunnel) {
            requireLeader(deps);
            const name = callerNode(deps, call, msg.nodeName);
            release = acquireStream(ctx, call, 'Tunnel');
            tunnel = deps.tunnels.attach(name, { write: (m) => call.write(m), end: () => call.end() });
            unsubscribe = onLeadershipLost(deps, () => refuse(notLeader(deps)));
            deps.logger.info({ node: name }, 'agent tunnel open');
            return;
          }
          tunnel.onFrame(msg);
        } catch (err) {
          refuse(err);
        }
      });
      const close = (): void => {
        unsubscribe();
        release?.();
        if (tunnel) deps.tunnels.detach(tunnel);
        tunnel = undefined;
      };
      call.on('end', () => {
        close();
        if (!refused) call.end();
      });
      call.on('cancelled', close);
      call.on('error', close);
    },
  };
}
