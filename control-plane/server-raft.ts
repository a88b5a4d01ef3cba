// The replicated control plane, as server.ts wires it: which cluster this data
// dir belongs to (member.json), joining one with a token, and the store stack of
// a member — the Raft store, the forwarding store a follower writes through, the
// Raft and Members services on the server's own gRPC port, and the members view
// `bramble cluster status` shows.
import * as grpc from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../proto/util/clock.js';
import { BrambleError } from '../proto/util/errors.js';
import { readIfExists, writeFileAtomic } from '../proto/util/files.js';
import type { Logger } from '../proto/util/log.js';
import { loadProto } from '../proto/load.js';
import { membersHandlers } from './api/api-members.js';
import type { NodeApiLeader } from './api/api-node.js';
import { RaftMembers } from './api/api-members-raft.js';
import type { JoinLimiter } from './nodes/join-limiter.js';
import { peerAddress, requireReplica } from './pki/auth.js';
import { installClusterCa, readClusterCaKey, type CaRotationBundle, type ClusterPki } from './pki/pki-ca.js';
import type { CaPeers, CaStep } from './pki/ca-rotation.js';
import { forwardingStore } from './raft/raft-forwarding-store.js';
import { leaderWaitingRead } from './raft/raft-read-barrier.js';
import { joinAsMember, MembersClient } from './raft/raft-members-client.js';
import { openRaftStore, type RaftStore } from './raft/raft-store.js';
import { GrpcRaftTransport, raftServiceHandlers } from './raft/raft-transport-grpc.js';
import type { Peer, RaftTransport } from './raft/raft-transport.js';
import type { Store } from './store/store.js';
import type { KeyPeers } from './secrets/secrets-encryption.js';
import { certValidity, type RenewableCert } from '../proto/util/cert-renewal.js';
import { MutableCertificateProvider } from '../proto/util/cert-provider.js';

/** Where a data dir records that it belongs to a replicated control plane, and as whom. */
const MEMBER_FILE = 'member.json';
const ENCRYPTION_KEYS = path.join('cred', 'encryption-keys.json');

export interface RaftTiming {
  /** One Raft tick (default 100 ms). */
  tickMs?: number;
  /** Heartbeat interval and election timeout, in ticks (defaults 2 and 10: 200 ms and 1–2 s). */
  heartbeatTick?: number;
  electionTick?: number;
}

export interface MembershipOptions extends RaftTiming {
  /** --cluster-init: this data dir starts a cluster (an existing single-server store becomes its first member). */
  init?: boolean;
  /** --join HOST:PORT --token TOKEN: this server joins the cluster that member belongs to. */
  join?: { server: string; token: string };
  /** --node-name: the member's name. */
  name: string;
  /** host:port where the other members reach this server's gRPC port. */
  advertise: string;
}

interface MemberRecord {
  name: string;
  /** The first member of its cluster: bootstraps a configuration of one while the store holds none. */
  bootstrap: boolean;
  /** Members known at join time, so a joiner can answer the leader before the snapshot tells it the configuration. */
  seeds: Peer[];
}

function parseRecord(text: string, file: string): MemberRecord {
  const bad = (why: string): BrambleError => new BrambleError('STORE_FAILED', `${file} ${why}: restore it or move the data dir away`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad('is not valid JSON');
  }
  const r = v as Partial<MemberRecord> | null;
  if (!r || typeof r.name !== 'string' || typeof r.bootstrap !== 'boolean' || !Array.isArray(r.seeds)
    || r.seeds.some((p) => !p || typeof p.id !== 'string' || typeof p.address !== 'string')) {
    throw bad('is not a member record ({name, bootstrap, seeds})');
  }
  return { name: r.name, bootstrap: r.bootstrap, seeds: r.seeds.map((p) => ({ id: p.id, address: p.address })) };
}

/** Whether this data dir belongs to a replicated control plane (then it stays one on every start). */
export function isMemberDataDir(dataDir: string): boolean {
  return existsSync(path.join(dataDir, MEMBER_FILE));
}

/**
 * Settles which cluster this data dir belongs to before anything opens it: an
 * existing member keeps its record (the flags of its first start are not needed
 * again); --cluster-init records a first member; --join asks a member of the
 * cluster, takes its CA and encryption keys, and records the members it named.
 */
export async function prepareMembership(dataDir: string, opts: MembershipOptions, logger: Logger): Promise<MemberRecord> {
  const file = path.join(dataDir, MEMBER_FILE);
  const existing = await readIfExists(file);
  if (existing !== undefined) {
    const record = parseRecord(existing, file);
    if (record.name !== opts.name) {
      throw new BrambleError('INVALID_ARGUMENT', `--node-name must be this member's name "${record.name}" (recorded in ${file}): current value is "${opts.name}"`);
    }
    if (opts.join) logger.info({ member: record.name }, 'already a member of a cluster: --join is not needed and was ignored');
    return record;
  }
  if (opts.join) {
    if (existsSync(path.join(dataDir, 'store'))) {
      throw new BrambleError('INVALID_ARGUMENT', `--join needs a data dir without a store: ${path.join(dataDir, 'store')} exists (a joining server takes the cluster's store from its leader)`);
    }
    const joined = await joinAsMember({ server: opts.join.server, token: opts.join.token, name: opts.name, address: opts.advertise });
    await installClusterCa(dataDir, joined.caPem, joined.caKeyPem);
    if (joined.encryptionKeys !== '') {
      await fs.mkdir(path.join(dataDir, 'cred'), { recursive: true, mode: 0o700 });
      await writeFileAtomic(path.join(dataDir, ENCRYPTION_KEYS), joined.encryptionKeys, 0o600);
    }
    const record: MemberRecord = { name: opts.name, bootstrap: false, seeds: joined.members.map((m) => ({ id: m.name, address: m.address })) };
    await writeFileAtomic(file, JSON.stringify(record, null, 2) + '\n', 0o600);
    logger.info({ member: opts.name, via: opts.join.server, members: record.seeds.map((p) => p.id) }, 'joined the cluster as a learner');
    return record;
  }
  if (!opts.init) throw new BrambleError('INTERNAL', 'prepareMembership needs --cluster-init or --join for a data dir that is not a member yet');
  const record: MemberRecord = { name: opts.name, bootstrap: true, seeds: [{ id: opts.name, address: opts.advertise }] };
  await writeFileAtomic(file, JSON.stringify(record, null, 2) + '\n', 0o600);
  logger.info({ member: opts.name }, 'this data dir starts a replicated cluster, with this server as its first member');
  return record;
}

/** Until the configuration names peers, the join's list does (a learner must answer its leader). */
function seededTransport(inner: RaftTransport, seeds: Peer[], self: string): RaftTransport {
  const fallback = seeds.filter((p) => p.id !== self);
  return {
    start: (handlers, snapshots) => inner.start(handlers, snapshots),
    send: (messages) => inner.send(messages),
    setPeers: (peers) => inner.setPeers(peers.length > 0 ? peers : fallback),
    close: () => inner.close(),
  };
}

export interface ReplicatedStoreOptions extends MembershipOptions {
  dataDir: string;
  record: MemberRecord;
  pki: ClusterPki;
  clock: Clock;
  logger: Logger;
  onFatal: (err: BrambleError) => void;
  verifyToken: (token: string) => Promise<void>;
  joinLimiter?: JoinLimiter;
}

export interface ReplicatedStore {
  raft: RaftStore;
  /** What every component writes through: on a follower, writes go to the leader. */
  store: Store;
  members: RaftMembers;
  /** This member's replica certificate (in memory only, issued anew at every start), for the renewal loop. */
  replicaCert: RenewableCert;
  /** Adds the Raft and Members services: before the server binds, since peers call them from the start. */
  addServices(server: grpc.Server): void;
  /** Every member's address, this one first. */
  servers(): string[];
  /** What the API awaits before it plans a write: every acknowledged write applied here (waits out an election). */
  writeBarrier(): Promise<void>;
  /**
   * What the API awaits before it plans a write that may need no writeBarrier: on the leader,
   * every write acknowledged anywhere applied here, without a round to the others
   * (RaftNode.appliedBarrier); writeBarrier elsewhere.
   */
  planBarrier(): Promise<void>;
  /** Leadership as the Node service needs it: agents are sent on to the leader. */
  nodeLeader(): NodeApiLeader;
  /** Resolves once some member leads (this one or another); logs while it waits. */
  waitForLeader(): Promise<void>;
  /** Hands leadership over when this member leads, so a planned restart costs no election timeout. */
  handOver(): Promise<void>;
  /** The other members as a Secrets encryption key rotation reaches them. */
  keyPeers: KeyPeers;
  /** The other members as a cluster CA rotation reaches them. */
  caPeers: CaPeers;
  /** What takes a rotating member's CA steps here (server.ts: the PKI, then the renewal loop). */
  acceptClusterCa(take: (step: CaStep, rotation: CaRotationBundle) => Promise<string>): void;
  /** What takes a rotating member's key file here, once the encrypted store is open. */
  acceptEncryptionKeys(adopt: (keyFile: string) => Promise<string>): void;
  close(): Promise<void>;
}

const LEADER_WAIT_LOG_MS = 10_000;

export async function openReplicatedStore(opts: ReplicatedStoreOptions): Promise<ReplicatedStore> {
  const { record, clock, logger, pki } = opts;
  let replica = await pki.issueReplicaCert(record.name);
  const tls = { caPem: pki.caPem, certPem: replica.certPem, keyPem: replica.keyPem };
  // Through a provider, so a renewed replica certificate is used from the next connection on
  // while the Raft streams already open keep going.
  const replicaIdentity = new MutableCertificateProvider(pki.tlsTrustPem(), replica);
  // A CA rotation's trust (staged, adopted, ended) reaches the members' channels as it does the server.
  pki.onTrustChange((trust) => replicaIdentity.setCa(trust));
  const credentials = replicaIdentity.channelCredentials();
  const replicaCert: RenewableCert = {
    name: 'replica',
    validity: () => certValidity(replica.certPem),
    renew: async () => {
      replica = await pki.issueReplicaCert(record.name);
      replicaIdentity.setIdentity(replica);
    },
    // Once this member signs with a new CA, its own replica certificate moves to it at once.
    stale: () => !pki.signedBySigningCa(replica.certPem),
  };
  const transport = new GrpcRaftTransport({ id: record.name, tls, credentials, authorize: requireReplica, clock, logger: logger.child({ component: 'raft-transport' }) });
  const raft = await openRaftStore({
    dataDir: opts.dataDir, id: record.name, transport: seededTransport(transport, record.seeds, record.name),
    ...(record.bootstrap ? { bootstrap: record.seeds } : {}),
    clock, logger: logger.child({ component: 'raft' }), onFatal: opts.onFatal,
    ...(opts.tickMs !== undefined ? { tickMs: opts.tickMs } : {}),
    ...(opts.heartbeatTick !== undefined ? { heartbeatTick: opts.heartbeatTick } : {}),
    ...(opts.electionTick !== undefined ? { electionTick: opts.electionTick } : {}),
  });
  const client = new MembersClient({ credentials, clock });
  const members = new RaftMembers({
    store: raft, client, clock, logger: logger.child({ component: 'members' }),
    bundle: async () => ({
      caPem: pki.caPem,
      caKeyPem: await readClusterCaKey(opts.dataDir),
      encryptionKeys: (await readIfExists(path.join(opts.dataDir, ENCRYPTION_KEYS))) ?? '',
    }),
  });
  members.start();
  // A cluster of one need not wait an election timeout for its only voter.
  const st = raft.node.status();
  if (st.confState.voters.length === 1 && st.confState.voters[0] === record.name) raft.node.campaign();

  const store = forwardingStore(raft, { forward: (address, command) => client.forward(address, command), clock });
  let adoptKeys: ((keyFile: string) => Promise<string>) | undefined;
  let takeCa: ((step: CaStep, rotation: CaRotationBundle) => Promise<string>) | undefined;
  return {
    raft,
    store,
    members,
    replicaCert,
    addServices: (server) => {
      const proto = loadProto().bramble.v1;
      server.addService(proto.Raft.service, raftServiceHandlers(transport));
      server.addService(proto.Members.service, membersHandlers({
        logger: logger.child({ component: 'members-api' }), members, verifyToken: opts.verifyToken, authorizeReplica: requireReplica,
        ...(opts.joinLimiter ? { joinLimiter: opts.joinLimiter } : {}), peerAddress: (call) => peerAddress(call.getPeer()),
        adoptEncryptionKeys: () => adoptKeys,
        // A joiner gets the CA that signs now, not the previous one the members still serve with
        // and trust until the overlap ends: it could not reach them, nor would old agents reach it.
        refuseJoin: () => {
          const until = pki.rotationUntil();
          if (until !== undefined) {
            throw new BrambleError('FAILED_PRECONDITION', `a cluster CA rotation is under way until ${new Date(until).toISOString()}: a server can join once it ends`);
          }
        },
        setClusterCa: (step, rotation) => {
          if (!takeCa) throw new BrambleError('UNAVAILABLE', 'this member is still starting: it cannot take a CA rotation yet');
          return takeCa(step, rotation);
        },
      }));
    },
    nodeLeader: () => ({
      isLeader: () => raft.leadership.isLeader(),
      onChange: (listener) => raft.leadership.onChange(listener),
      describe: () => {
        const st = raft.node.status();
        return st.leader ? `the leader is "${st.leader}" (${st.peers[st.leader] ?? 'address unknown'})` : 'no leader is known yet (an election is under way)';
      },
      leaderAddress: () => {
        const st = raft.node.status();
        return st.leader ? st.peers[st.leader] || undefined : undefined;
      },
    }),
    writeBarrier: leaderWaitingRead(() => raft.linearizableRead(), { clock }),
    planBarrier: leaderWaitingRead(() => raft.appliedBarrier(), { clock }),
    servers: () => {
      const known = members.members().map((m) => m.address).filter((a) => a !== '');
      // A joiner knows no configuration until the leader's snapshot arrives: until then the join's list
      // stands in, or its local agent (and admin.conf) would know this member alone, a follower that
      // answers NOT_LEADER, and never find the leader (found by the three-host site.yml run).
      const all = known.length > 1 ? known : [...new Set([...known, ...record.seeds.map((s) => s.address)])];
      return [opts.advertise, ...all.filter((a) => a !== opts.advertise)];
    },
    waitForLeader: async () => {
      let logged = clock.now();
      while (raft.node.status().leader === '') {
        if (raft.node.failure) throw raft.node.failure;
        if (clock.now() - logged >= LEADER_WAIT_LOG_MS) {
          logged = clock.now();
          logger.warn({ member: record.name, members: members.members().map((m) => m.name) }, 'waiting for a leader: fewer than a quorum of members can reach each other');
        }
        await clock.sleep(100);
      }
    },
    handOver: async () => {
      members.stop();
      if (!raft.node.leadership.isLeader()) return;
      const handedOver = await raft.stepDown();
      logger.info({ handedOver }, handedOver ? 'leadership handed over before shutdown' : 'no member took over leadership: the others elect one once this member stops');
    },
    keyPeers: {
      others: () => members.members().filter((m) => m.name !== record.name).map((m) => ({ name: m.name, address: m.address })),
      send: async (address, keyFile) => { await client.setEncryptionKeys(address, keyFile); },
    },
    acceptEncryptionKeys: (adopt) => {
      adoptKeys = adopt;
    },
    caPeers: {
      others: () => members.members().filter((m) => m.name !== record.name).map((m) => ({ name: m.name, address: m.address })),
      send: async (address, step, rotation) => {
        // The key only where it is needed: a staged CA is trusted, never signed with.
        await client.setClusterCa(address, { step, caPem: rotation.caPem, caKeyPem: step === 'adopt' ? rotation.caKeyPem : '', previousUntil: rotation.previousUntil });
      },
    },
    acceptClusterCa: (take) => {
      takeCa = take;
    },
    close: async () => {
      members.stop();
      client.close();
      await raft.close();
    },
  };
}
