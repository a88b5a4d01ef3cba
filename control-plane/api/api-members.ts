// The Members service (between control-plane members) and the cluster-status part
// of the Cluster service. The Raft machinery sits behind injected interfaces:
// server.ts gives a replicated server its Raft-backed members, a single server
// the standalone one, so these handlers stay the same either way.
import { BrambleError } from '../../proto/util/errors.js';
import { LIMITS } from '../../proto/limits.js';
import { parseUntrustedJson } from '../../proto/util/untrusted-json.js';
import type {
  ClusterStatusResponse, ForwardRequest__Output, ForwardResponse, JoinMemberRequest__Output, JoinMemberResponse,
  MemberInfo, MemberStatusResponse, MembersHandlers, SetEncryptionKeysRequest__Output, SetEncryptionKeysResponse,
  SetClusterCaRequest__Output, SetClusterCaResponse,
} from '../../proto/load.js';
import type { CallWithAuth } from '../pki/auth.js';
import type { Command, CommitResult, Op, Precondition } from '../store/store.js';
import type { JoinLimiter } from '../nodes/join-limiter.js';
import { unary, type HandlerContext } from './grpc-util.js';

/** What `bramble cluster status|remove` act on. */
export interface ClusterMembers {
  /** Every member as this one sees it; the leader's view of lag and last contact where it has one. */
  status(): Promise<ClusterStatusResponse>;
  /** Removes a member; resolves with the members left once the change is committed. */
  remove(name: string): Promise<MemberInfo[]>;
}

/** A server started without --cluster-init or --join: the only member, with nothing to remove. */
export function standaloneMembers(name: string, address: () => string, revision: () => number): ClusterMembers {
  return {
    status: async () => ({
      leader: name,
      members: [{ name, address: address(), role: 'standalone', term: 0, commitIndex: revision(), appliedIndex: revision(), lag: 0, lastContact: '', error: '' }],
    }),
    remove: async () => {
      throw new BrambleError('FAILED_PRECONDITION', 'this server is not part of a replicated control plane: it is its only member, and there is no member to remove');
    },
  };
}

/** What a member answers in the Members service. */
export interface MemberService {
  /**
   * Adds a new server as a learner (the leader proposes the change; a follower
   * forwards). Resolves with what the new member needs once the change is committed.
   */
  join(name: string, address: string, token: string): Promise<JoinMemberResponse>;
  /** Proposes a write forwarded by a follower; only the leader accepts (NOT_LEADER otherwise). */
  propose(command: Command): Promise<CommitResult>;
  /** This member's own view of itself. */
  ownStatus(): MemberStatusResponse;
}

export interface MembersHandlerOptions extends HandlerContext {
  members: MemberService;
  verifyToken: (token: string) => Promise<void>;
  /** Throws unless the caller holds a replica certificate; returns the replica's name. */
  authorizeReplica: (call: CallWithAuth) => string;
  /** Refuses an address that failed to join too often. */
  joinLimiter?: JoinLimiter;
  peerAddress: (call: { getPeer(): string }) => string;
  /** Takes a rotating member's encryption key file (SecretsEncryption.adoptKeyFile); unset until the store is open. */
  adoptEncryptionKeys?: () => ((keyFile: string) => Promise<string>) | undefined;
  /** Throws when no server may join now (a CA rotation's overlap); called once the token is known good. */
  refuseJoin?: () => void;
  /** Takes one step of a cluster CA rotation a member runs (ca-rotation.ts); answers the signing CA's hash. */
  setClusterCa?: (step: 'stage' | 'adopt' | 'abort', rotation: { caPem: string; caKeyPem: string; previousUntil: string }) => Promise<string>;
}

/** A P-256 CA certificate or key is well under a kilobyte of PEM; an RSA-4096 one a few. */
const MAX_CA_PEM_BYTES = 16 * 1024;
const CA_STEPS = ['stage', 'adopt', 'abort'] as const;

/** A key file is a few keys of 32 bytes: far below this, which still leaves room for MAX_KEYS of them. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

const NAME = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;
const HOST_PORT = /^([A-Za-z0-9.-]{1,253}|\[[0-9a-fA-F:]{2,39}\]):([0-9]{1,5})$/;

/** A member's name is its --node-name: a DNS-1123 subdomain label set, as node names are. */
export function checkMemberName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new BrambleError('INVALID_ARGUMENT', `${field} must be a lower-case DNS name of at most 63 characters: current value is ${JSON.stringify(String(name).slice(0, 80))}`);
  }
  return name;
}

export function checkMemberAddress(address: unknown, field = 'address'): string {
  const m = typeof address === 'string' ? HOST_PORT.exec(address) : null;
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new BrambleError('INVALID_ARGUMENT', `${field} must be HOST:PORT with a port of 1-65535: current value is ${JSON.stringify(String(address).slice(0, 80))}`);
  }
  return address as string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function precondition(v: unknown, path: string): Precondition | undefined {
  if (v === undefined) return undefined;
  if (isRecord(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && v.absent === true) return { absent: true };
    if (keys.length === 1 && v.exists === true) return { exists: true };
    if (keys.length === 1 && typeof v.resourceVersion === 'string') return { resourceVersion: v.resourceVersion };
  }
  throw new BrambleError('INVALID_ARGUMENT', `${path} must be {absent: true}, {exists: true} or {resourceVersion: "<n>"}`);
}

function op(v: unknown, path: string): Op {
  if (!isRecord(v)) throw new BrambleError('INVALID_ARGUMENT', `${path} must be an object`);
  const pre = precondition(v.precondition, `${path}.precondition`);
  if (v.type === 'put') {
    const o = v.object;
    if (!isRecord(o) || typeof o.kind !== 'string' || !isRecord(o.metadata) || typeof o.metadata.name !== 'string') {
      throw new BrambleError('INVALID_ARGUMENT', `${path}.object must be an object with kind and metadata.name`);
    }
    return { type: 'put', object: o as unknown as Extract<Op, { type: 'put' }>['object'], ...(pre ? { precondition: pre } : {}) };
  }
  if (v.type === 'delete') {
    if (typeof v.kind !== 'string' || typeof v.name !== 'string' || (v.namespace !== undefined && typeof v.namespace !== 'string')) {
      throw new BrambleError('INVALID_ARGUMENT', `${path} must carry a kind and name (and a namespace string, when namespaced)`);
    }
    return { type: 'delete', kind: v.kind, name: v.name, ...(v.namespace !== undefined ? { namespace: v.namespace as string } : {}), ...(pre ? { precondition: pre } : {}) };
  }
  throw new BrambleError('INVALID_ARGUMENT', `${path}.type must be put or delete: current value is ${JSON.stringify(v.type)}`);
}

/** A forwarded command, checked as carefully as anything else from the network. */
export function parseCommand(text: string): Command {
  const v = parseUntrustedJson(text, {
    what: 'a forwarded command',
    limits: { maxBytes: LIMITS.maxRequestBytes, maxDepth: LIMITS.maxDepth + 3, maxStringLength: LIMITS.maxStringLength },
  });
  if (!isRecord(v) || !Array.isArray(v.ops) || v.ops.length === 0) {
    throw new BrambleError('INVALID_ARGUMENT', 'a forwarded command must be an object with a non-empty list of ops');
  }
  return { ops: v.ops.map((o, i) => op(o, `ops[${i}]`)) };
}

export function membersHandlers(opts: MembersHandlerOptions): MembersHandlers {
  const ctx: HandlerContext = { logger: opts.logger, metrics: opts.metrics, streams: opts.streams };
  return {
    JoinMember: unary(ctx, 'JoinMember', async (req: JoinMemberRequest__Output, call) => {
      const source = opts.peerAddress(call);
      opts.joinLimiter?.check(source);
      const name = checkMemberName(req.name);
      const address = checkMemberAddress(req.address);
      try {
        await opts.verifyToken(req.token);
      } catch (e) {
        opts.joinLimiter?.recordFailure(source);
        opts.logger.warn({ source, member: name, errorCode: (e as BrambleError).code }, 'member join refused: wrong token');
        throw e;
      }
      opts.refuseJoin?.();
      const res = await opts.members.join(name, address, req.token);
      // Never log the answer: it carries the CA key and the encryption keys.
      opts.logger.info({ member: name, address, source }, 'member joined as a learner');
      return res;
    }),
    Forward: unary(ctx, 'Forward', async (req: ForwardRequest__Output, call): Promise<ForwardResponse> => {
      opts.authorizeReplica(call);
      const result = await opts.members.propose(parseCommand(req.commandJson));
      return { revision: result.revision, objects: result.objects.map((o) => JSON.stringify(o)) };
    }),
    MemberStatus: unary(ctx, 'MemberStatus', async (_req, call) => {
      opts.authorizeReplica(call);
      return opts.members.ownStatus();
    }),
    SetEncryptionKeys: unary(ctx, 'SetEncryptionKeys', async (req: SetEncryptionKeysRequest__Output, call): Promise<SetEncryptionKeysResponse> => {
      const from = opts.authorizeReplica(call);
      if (typeof req.keyFile !== 'string' || req.keyFile.length === 0) throw new BrambleError('INVALID_ARGUMENT', 'keyFile must be a key file: current value is empty');
      if (req.keyFile.length > MAX_KEY_FILE_BYTES) {
        throw new BrambleError('LIMIT_EXCEEDED', `keyFile must be no more than ${MAX_KEY_FILE_BYTES} characters: current length is ${req.keyFile.length}`);
      }
      const adopt = opts.adoptEncryptionKeys?.();
      if (!adopt) throw new BrambleError('UNAVAILABLE', 'this member is still starting: its store is not open yet');
      const activeKeyId = await adopt(req.keyFile);
      // Never the file: it holds the keys.
      opts.logger.info({ from, keyId: activeKeyId }, 'Secrets encryption keys set by a rotating member');
      return { activeKeyId };
    }),
    SetClusterCa: unary(ctx, 'SetClusterCa', async (req: SetClusterCaRequest__Output, call): Promise<SetClusterCaResponse> => {
      const from = opts.authorizeReplica(call);
      const step = CA_STEPS.find((s) => s === req.step);
      if (!step) throw new BrambleError('INVALID_ARGUMENT', `step must be one of ${CA_STEPS.join(', ')}: current value is ${JSON.stringify(req.step).slice(0, 64)}`);
      for (const [field, value] of [['caPem', req.caPem], ['caKeyPem', req.caKeyPem]] as const) {
        if (value.length > MAX_CA_PEM_BYTES) throw new BrambleError('LIMIT_EXCEEDED', `${field} must be no more than ${MAX_CA_PEM_BYTES} characters: current length is ${value.length}`);
      }
      if (req.caPem === '') throw new BrambleError('INVALID_ARGUMENT', 'caPem must be the new CA certificate: current value is empty');
      if (step === 'adopt' && req.caKeyPem === '') throw new BrambleError('INVALID_ARGUMENT', 'caKeyPem must be the new CA key for step "adopt": current value is empty');
      if (!opts.setClusterCa) throw new BrambleError('UNAVAILABLE', 'this member is still starting: it cannot take a CA rotation yet');
      const signingCaHash = await opts.setClusterCa(step, { caPem: req.caPem, caKeyPem: req.caKeyPem, previousUntil: req.previousUntil });
      // Never the PEMs: the request carries the CA key.
      opts.logger.info({ from, step, signingCaHash }, 'cluster CA rotation step taken for a rotating member');
      return { signingCaHash };
    }),
  };
}
