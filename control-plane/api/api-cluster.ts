// The Cluster service: what the CLI calls. Requests are checked here, turned into
// store commands by api-apply.ts and proposed; objects travel as JSON text.
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../proto/util/clock.js';
import { LIMITS } from '../../proto/limits.js';
import { parseUntrustedJson } from '../../proto/util/untrusted-json.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { Logger } from '../../proto/util/log.js';
import {
  DEFAULT_PROPAGATION_POLICY, KINDS, PROPAGATION_POLICIES, kindInfo, matchesSelector, parseSelector, resolveKind,
  type KObject, type KindInfo, type PropagationPolicy, type SelectorRequirement,
} from '../../proto/model.js';
import type {
  ApplyRequest__Output, ApplyResponse, ClusterHandlers, DeleteRequest__Output, DeleteResponse,
  GetRequest__Output, ImageChunk__Output, ListRequest__Output, ListResponse,
  CreateTokenRequest__Output, DeleteTokenRequest__Output, ListTokensResponse,
  ObjectResponse, TokenInfo, VersionResponse, WatchEvent, WatchRequest__Output,
  RotateSecretsEncryptionRequest__Output, RotateSecretsEncryptionResponse, SecretsEncryptionStatusResponse,
  RotateClusterCaResponse,
} from '../../proto/load.js';
import { notFoundError, planApply, planDelete, scopedNamespace } from './api-apply.js';
import { clientStream, serverStream, unary, type HandlerContext } from './grpc-util.js';
import type { CallWithAuth } from '../pki/auth.js';
import type { Store, Watch } from '../store/store.js';
import { selectedEventType } from './watch-selector.js';
import type { BoardApi } from './api-board.js';
import type { TokenRegistry, TokenSummary } from '../pki/token-registry.js';
import { execHandler } from './api-exec.js';
import { checkMemberName, type ClusterMembers } from './api-members.js';
import { encryptionError } from '../secrets/encrypting-store.js';
import type { EncryptionStatus, SecretsEncryption } from '../secrets/secrets-encryption.js';
import { snapshotHandler, type SnapshotSource } from './api-snapshot.js';
import { encodeMembers, MEMBERS_METADATA_KEY } from './members-metadata.js';
import { perConnection } from '../../proto/util/call-connection.js';

/** A concurrent writer can win the race between plan and propose this many times before we give up. */
const MAX_PLAN_ATTEMPTS = 5;

export interface ClusterApiDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** validateObjects from schema.ts; injected so the API does not depend on every kind's schema. */
  validate: (inputs: unknown[]) => KObject[];
  tokens: TokenRegistry;
  version: string;
  nodeName: string;
  newUid?: () => string;
  /** The server's --service-cidr, where Service cluster IPs come from (DEFAULT_SERVICE_CIDR when left out). */
  serviceCidr?: string;
  /** `bramble secrets-encryption status|rotate`; without it those calls answer UNAVAILABLE. */
  secretsEncryption?: Pick<SecretsEncryption, 'status' | 'rotate'>;
  /**
   * Resolves once this member has applied every write acknowledged before the call
   * (Raft's ReadIndex; it waits out an election). Awaited before a delete is planned, and
   * before an apply is when there is no planBarrier: on a follower a plan against an older
   * state refuses a resourceVersion the cluster already has without ever proposing. Awaited
   * again after a propose lost a race: the write that won may not be applied here yet, and
   * a plan against the old state would lose every attempt (an unconditional delete
   * answered CONFLICT). Absent on a single server, whose state is always current.
   */
  writeBarrier?: () => Promise<void>;
  /**
   * Awaited before an apply is planned, in place of writeBarrier: on the leader it waits
   * only until every acknowledged write is applied here, without asking the others
   * whether this member still leads. A plan whose every read is a precondition the log
   * decides at apply (each object created or changed) goes ahead on it: on a leader
   * deposed without knowing it, that write cannot commit. Any other outcome (an object
   * unchanged, a dry run, an error read from the state) is planned again after
   * writeBarrier, as its answer comes from this member's state alone.
   */
  planBarrier?: () => Promise<void>;
}

function unknownKind(name: string): BrambleError {
  return new BrambleError('UNKNOWN_KIND', `kind "${name}" is not supported: known kinds are ${KINDS.map((k) => k.plural).join(', ')}`);
}

export function requireKindName(name: string): KindInfo {
  const info = resolveKind(name);
  if (!info) throw unknownKind(name);
  return info;
}

function selectorOf(text: string): SelectorRequirement[] {
  if (text.trim() === '') return [];
  try {
    return parseSelector(text);
  } catch (e) {
    throw new BrambleError('INVALID_ARGUMENT', `label selector "${text}" is not valid: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function requireName(name: string, what: string): void {
  if (name === '') throw new BrambleError('INVALID_ARGUMENT', `${what} needs a name: current value is empty`);
}

/** '' means the default, as an unset field does in Kubernetes' DeleteOptions. */
export function propagationPolicyOf(text: string): PropagationPolicy {
  if (text === '') return DEFAULT_PROPAGATION_POLICY;
  const policy = PROPAGATION_POLICIES.find((p) => p === text);
  if (!policy) {
    throw new BrambleError('INVALID_ARGUMENT', `propagation policy must be one of ${PROPAGATION_POLICIES.join(', ')}: current value is ${JSON.stringify(text)}`);
  }
  return policy;
}

/** Whether a failed propose may succeed when planned again against fresher state. */
function isRace(e: unknown): boolean {
  return isBrambleError(e, 'CONFLICT') || isBrambleError(e, 'ALREADY_EXISTS');
}

export class ClusterApi {
  constructor(private readonly deps: ClusterApiDeps) {}

  async apply(req: Pick<ApplyRequest__Output, 'objects' | 'dryRun'>): Promise<ApplyResponse> {
    if (req.objects.length > LIMITS.maxObjectsPerApply) {
      throw new BrambleError('LIMIT_EXCEEDED', `an apply must hold no more than ${LIMITS.maxObjectsPerApply} objects: current count is ${req.objects.length}; apply them in several parts`);
    }
    const inputs = req.objects.map((text, index) => parseUntrustedJson(text, { what: `document ${index}`, document: index }));
    const objects = this.deps.validate(inputs);
    const { store, clock, newUid, planBarrier, writeBarrier } = this.deps;
    // Whether what the plan reads is known to hold every write acknowledged before this call.
    let confirmed = planBarrier === undefined;
    if (planBarrier) await planBarrier();
    else await writeBarrier?.();
    const confirm = async (): Promise<void> => {
      await writeBarrier?.();
      confirmed = true;
    };
    // A plan whose answer rests on this member's state alone (an error, an object unchanged, a
    // dry run) is made again once confirmed; one whose every read is a precondition goes ahead.
    const planned = async (): Promise<ReturnType<typeof planApply>> => {
      for (;;) {
        let plan: ReturnType<typeof planApply>;
        try {
          plan = planApply(store, objects, { clock, newUid, serviceCidr: this.deps.serviceCidr });
        } catch (e) {
          if (confirmed) throw e;
          await confirm();
          continue;
        }
        if (confirmed || !(req.dryRun || plan.results.some((r) => r.opIndex === undefined))) return plan;
        await confirm();
      }
    };
    for (let attempt = 1; ; attempt++) {
      const plan = await planned();
      const toResults = (committed?: KObject[]): ApplyResponse['results'] => plan.results.map((r) => ({
        kind: r.kind,
        namespace: r.namespace ?? '',
        name: r.name,
        action: r.action,
        object: JSON.stringify(committed && r.opIndex !== undefined ? committed[r.opIndex] : r.object),
      }));
      if (req.dryRun || plan.command.ops.length === 0) {
        return { results: toResults(), revision: store.revision() };
      }
      try {
        const commit = await store.propose(plan.command);
        for (const r of plan.results) {
          if (r.action === 'unchanged') continue;
          this.deps.logger.debug({ kind: r.kind, namespace: r.namespace, objectName: r.name, action: r.action }, 'applied');
        }
        return { results: toResults(commit.objects), revision: commit.revision };
      } catch (e) {
        if (!isRace(e) || attempt >= MAX_PLAN_ATTEMPTS) throw e;
        this.deps.logger.debug({ attempt }, 'apply raced a concurrent write; planning again');
        await confirm();
      }
    }
  }

  get(req: Pick<GetRequest__Output, 'kind' | 'namespace' | 'name'>): ObjectResponse {
    const info = requireKindName(req.kind);
    requireName(req.name, `get ${info.kind.toLowerCase()}`);
    const namespace = scopedNamespace(info, req.namespace);
    const obj = this.deps.store.get(info.kind, namespace, req.name);
    if (!obj) throw notFoundError(info.kind, namespace, req.name);
    const unreadable = encryptionError(obj);
    if (unreadable !== undefined) throw new BrambleError('STORE_FAILED', unreadable);
    return { object: JSON.stringify(obj) };
  }

  list(req: Pick<ListRequest__Output, 'kind' | 'namespace' | 'labelSelector'>): ListResponse {
    const info = requireKindName(req.kind);
    const selector = selectorOf(req.labelSelector);
    const namespace = info.namespaced && req.namespace !== '' ? req.namespace : undefined;
    const { items, revision } = this.deps.store.list(info.kind, namespace);
    const objects = items.filter((o) => matchesSelector(o.metadata.labels, selector)).map((o) => JSON.stringify(o));
    return { objects, revision };
  }

  async delete(
    req: Pick<DeleteRequest__Output, 'kind' | 'namespace' | 'name' | 'resourceVersion'> & { force?: boolean; propagationPolicy?: string; gracePeriodSeconds?: number },
  ): Promise<DeleteResponse> {
    const info = requireKindName(req.kind);
    requireName(req.name, `delete ${info.kind.toLowerCase()}`);
    const propagationPolicy = propagationPolicyOf(req.propagationPolicy ?? '');
    const target = {
      kind: info.kind, namespace: req.namespace, name: req.name, resourceVersion: req.resourceVersion,
      force: req.force ?? false, now: new Date(this.deps.clock.now()).toISOString(), propagationPolicy,
      gracePeriodSeconds: req.gracePeriodSeconds !== undefined && req.gracePeriodSeconds > 0 ? req.gracePeriodSeconds : undefined,
    };
    await this.deps.writeBarrier?.();
    for (let attempt = 1; ; attempt++) {
      const plan = planDelete(this.deps.store, target);
      // Already terminating: the agent is on it, nothing to write.
      if (plan.command.ops.length === 0) return { object: JSON.stringify(plan.object) };
      try {
        const commit = await this.deps.store.propose(plan.command);
        const m = plan.object.metadata;
        this.deps.logger.info({ kind: info.kind, namespace: m.namespace, objectName: m.name, action: 'deleted', propagationPolicy, alsoChanged: plan.opIndex }, 'deleted');
        return { object: JSON.stringify(commit.objects[plan.opIndex] ?? plan.object) };
      } catch (e) {
        // With an explicit version the caller asked to lose the race; planning again reports it.
        if (!isRace(e) || attempt >= MAX_PLAN_ATTEMPTS) throw e;
        await this.deps.writeBarrier?.();
      }
    }
  }

  /**
   * Starts a filtered watch; throws STORE_REVISION_TOO_OLD when fromRevision is compacted away.
   * With a label selector an object whose labels stop matching arrives as DELETED, and one
   * whose labels start matching as ADDED (watch-selector.ts), so a client's view stays exact.
   */
  watch(req: Pick<WatchRequest__Output, 'kind' | 'namespace' | 'fromRevision' | 'labelSelector'>, onEvent: (e: WatchEvent) => void): Watch {
    const info = req.kind === '' ? undefined : requireKindName(req.kind);
    const selector = selectorOf(req.labelSelector);
    const namespace = req.namespace === '' || (info && !info.namespaced) ? undefined : req.namespace;
    return this.deps.store.watch({ kind: info?.kind, namespace, fromRevision: req.fromRevision }, (e) => {
      // Internal kinds (join tokens) share the store but are not part of the API.
      if (!kindInfo(e.object.kind)) return;
      if (namespace !== undefined && e.object.metadata.namespace !== namespace) return;
      const type = selectedEventType(e, selector);
      if (type === undefined) return;
      onEvent({ type, object: JSON.stringify(e.object), revision: e.revision });
    });
  }

  version(): VersionResponse {
    const { store } = this.deps;
    return { version: this.deps.version, revision: store.revision(), objectCount: store.objectCount(), nodeName: this.deps.nodeName, gitCommit: '' };
  }

  async createToken(req: Pick<CreateTokenRequest__Output, 'ttlSeconds' | 'description'>): Promise<TokenInfo> {
    const made = await this.deps.tokens.create({ ttlSeconds: req.ttlSeconds, description: req.description });
    this.deps.logger.info({ kind: 'BootstrapToken', objectName: made.id, action: 'created' }, 'join token created');
    return { ...tokenInfo(made), token: made.token };
  }

  listTokens(): ListTokensResponse {
    return { tokens: this.deps.tokens.list().map(tokenInfo) };
  }

  async deleteToken(req: Pick<DeleteTokenRequest__Output, 'id'>): Promise<Record<string, never>> {
    requireName(req.id, 'delete token');
    await this.deps.tokens.delete(req.id);
    this.deps.logger.info({ kind: 'BootstrapToken', objectName: req.id, action: 'deleted' }, 'join token deleted');
    return {};
  }

  secretsEncryptionStatus(): SecretsEncryptionStatusResponse {
    return statusResponse(this.requireEncryption().status());
  }

  async rotateSecretsEncryption(req: Pick<RotateSecretsEncryptionRequest__Output, 'keepOldKeys'>): Promise<RotateSecretsEncryptionResponse> {
    const report = await this.requireEncryption().rotate({ keepOldKeys: req.keepOldKeys });
    return { ...report, status: statusResponse(report.status) };
  }

  private requireEncryption(): NonNullable<ClusterApiDeps['secretsEncryption']> {
    const enc = this.deps.secretsEncryption;
    if (!enc) throw new BrambleError('UNAVAILABLE', 'this server does not encrypt Secrets at rest: it has no secrets encryption to report on or rotate');
    return enc;
  }
}

function statusResponse(s: EncryptionStatus): SecretsEncryptionStatusResponse {
  return { ...s, keys: s.keys.map((k) => ({ id: k.id, active: k.active, secrets: k.secrets })) };
}

function tokenInfo(t: TokenSummary): TokenInfo {
  return { id: t.id, description: t.description, created: t.created, expires: t.expires ?? '' };
}

export const READ_CONSISTENCIES = ['linearizable', 'serializable'] as const;
export type ReadConsistency = (typeof READ_CONSISTENCIES)[number];

/** '' is the default, linearizable. */
export function checkConsistency(value: string): ReadConsistency {
  if (value === '') return 'linearizable';
  if ((READ_CONSISTENCIES as readonly string[]).includes(value)) return value as ReadConsistency;
  throw new BrambleError('INVALID_ARGUMENT', `consistency must be linearizable or serializable: current value is ${JSON.stringify(value.slice(0, 40))}`);
}

export interface ClusterHandlerOptions extends HandlerContext {
  /** Logs, figures and image import: answered by the boards. */
  board: BoardApi;
  /** Throws UNAUTHENTICATED / FORBIDDEN unless the caller holds the admin credential. */
  authorize: (call: CallWithAuth) => void;
  /** The control-plane members: Raft's, or the standalone server alone. */
  members: ClusterMembers;
  /**
   * Resolves once this member has applied every write acknowledged before the call
   * (Raft's ReadIndex). Absent on a single server, whose state is always current.
   */
  linearizableRead?: () => Promise<void>;
  /** What SnapshotStore streams; without it the call is refused (UNAVAILABLE). */
  snapshots?: SnapshotSource;
  /** A cluster CA rotation across every member (ca-rotation.ts); a single server has none (it rotates on its data dir). */
  rotateClusterCa?: (overlapMs: number) => Promise<RotateClusterCaResponse>;
  /**
   * The members' client addresses, sent with authorized answers (MEMBERS_METADATA_KEY: a connection's first, and the next after a change)
   * so the CLI learns membership changes from the calls it makes anyway. Absent on a single
   * server: it has no other member to tell of.
   */
  memberAddresses?: () => readonly string[];
}

/**
 * Sends the members with an answer's headers, once the caller is known to be an admin: on a
 * connection's first answer and whenever they changed since that connection was last sent
 * them (a client learns them per connection, cli-learn-members.ts), not on every call.
 */
function membersAnnouncer(memberAddresses: (() => readonly string[]) | undefined): (call: CallWithAuth) => void {
  if (!memberAddresses) return () => undefined;
  const lastSent = perConnection((): { text?: string } => ({}));
  return (call) => {
    const text = encodeMembers(memberAddresses());
    if (text === '') return;
    const sent = lastSent(call);
    if (sent.text === text) return;
    sent.text = text;
    const metadata = new grpc.Metadata();
    metadata.set(MEMBERS_METADATA_KEY, text);
    (call as Partial<Pick<grpc.ServerUnaryCall<unknown, unknown>, 'sendMetadata'>>).sendMetadata?.(metadata);
  };
}

/** The longest CA rotation overlap, as `--overlap` allows: ten years. */
const MAX_CA_OVERLAP_SECONDS = 3650 * 24 * 3600;

export function clusterHandlers(api: ClusterApi, opts: ClusterHandlerOptions): ClusterHandlers {
  const ctx: HandlerContext = { logger: opts.logger, metrics: opts.metrics, streams: opts.streams };
  const announce = membersAnnouncer(opts.memberAddresses);
  // Every Cluster handler authorizes first: the members go out with its headers, to admins only.
  const authorize = (call: CallWithAuth): void => {
    opts.authorize(call);
    announce(call);
  };
  const readAt = async (consistency: string): Promise<void> => {
    if (checkConsistency(consistency) === 'linearizable') await opts.linearizableRead?.();
  };
  return {
    // A write is planned against this member's state, after the API's own barrier
    // (ClusterApiDeps.writeBarrier, planBarrier): most applies need no round to the others.
    Apply: unary(ctx, 'Apply', async (req, call) => { authorize(call); return api.apply(req); }),
    Get: unary(ctx, 'Get', async (req, call) => { authorize(call); await readAt(req.consistency); return api.get(req); }),
    List: unary(ctx, 'List', async (req, call) => { authorize(call); await readAt(req.consistency); return api.list(req); }),
    Delete: unary(ctx, 'Delete', async (req, call) => { authorize(call); return api.delete(req); }),
    Version: unary(ctx, 'Version', async (_req, call) => { authorize(call); return api.version(); }),
    Watch: serverStream(ctx, 'Watch', async (call) => {
      authorize(call);
      await new Promise<void>((resolve) => {
        const watch = api.watch(call.request, (e) => { call.write(e); });
        const stop = (): void => { watch.cancel(); resolve(); };
        call.once('cancelled', stop);
        call.once('close', stop);
        call.once('error', stop);
      });
    }),
    CreateToken: unary(ctx, 'CreateToken', async (req, call) => { authorize(call); return api.createToken(req); }),
    ListTokens: unary(ctx, 'ListTokens', async (_req, call) => { authorize(call); return api.listTokens(); }),
    DeleteToken: unary(ctx, 'DeleteToken', async (req, call) => { authorize(call); return api.deleteToken(req); }),
    SecretsEncryptionStatus: unary(ctx, 'SecretsEncryptionStatus', async (_req, call) => { authorize(call); return api.secretsEncryptionStatus(); }),
    RotateSecretsEncryption: unary(ctx, 'RotateSecretsEncryption', async (req, call) => { authorize(call); return api.rotateSecretsEncryption(req); }),
    RotateClusterCa: unary(ctx, 'RotateClusterCa', async (req, call) => {
      authorize(call);
      if (!opts.rotateClusterCa) {
        throw new BrambleError('FAILED_PRECONDITION', 'this server is not part of a replicated control plane: run `bramble certificate rotate-ca` on its machine, against its data dir');
      }
      if (!(req.overlapSeconds > 0) || req.overlapSeconds > MAX_CA_OVERLAP_SECONDS) {
        throw new BrambleError('INVALID_ARGUMENT', `overlapSeconds must be above 0 and at most ${MAX_CA_OVERLAP_SECONDS} (ten years): current value is ${req.overlapSeconds}`);
      }
      return opts.rotateClusterCa(req.overlapSeconds * 1000);
    }),
    Logs: serverStream(ctx, 'Logs', async (call) => {
      authorize(call);
      const stream = opts.board.logs(call.request);
      call.once('cancelled', () => stream.cancel());
      for await (const data of stream) {
        if (call.cancelled) break;
        call.write({ data });
      }
    }),
    Top: unary(ctx, 'Top', async (req, call) => { authorize(call); return opts.board.top(req); }),
    ImportImage: clientStream(ctx, 'ImportImage', async (call) => {
      authorize(call);
      const chunks = call[Symbol.asyncIterator]() as AsyncIterator<ImageChunk__Output>;
      const first = await chunks.next();
      if (first.done) throw new BrambleError('INVALID_ARGUMENT', 'ImportImage needs at least one message: the stream was empty');
      const images = await opts.board.importImage(first.value, { [Symbol.asyncIterator]: () => chunks });
      return { images };
    }),
    // Admin only, as every Cluster call: a node certificate is refused (FORBIDDEN) before anything runs.
    Exec: execHandler(ctx, { authorize, prepare: (start) => opts.board.prepareExec(start) }),
    ClusterStatus: unary(ctx, 'ClusterStatus', async (_req, call) => { authorize(call); return opts.members.status(); }),
    RemoveMember: unary(ctx, 'RemoveMember', async (req, call) => {
      authorize(call);
      return { members: await opts.members.remove(checkMemberName(req.name)) };
    }),
    SnapshotStore: snapshotHandler(ctx, { authorize, source: opts.snapshots }),
  };
}
