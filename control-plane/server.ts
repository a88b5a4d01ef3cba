// `bramble server`: one control-plane process. Opens the store, makes sure the
// cluster has its CA, join token, admin credentials and default namespace, then
// serves the Cluster API over gRPC/TLS and probes + metrics over HTTP.
import * as grpc from '@grpc/grpc-js';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { realClock, type Clock } from '../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../proto/util/errors.js';
import { loadProto } from '../proto/load.js';
import { createLogger, type Logger } from '../proto/util/log.js';
import { SYSTEM_NAMESPACES, type KObject, type Service } from '../proto/model.js';
import { CLUSTER_DNS_SERVICE, clusterDnsAddress } from '../proto/ipv4.js';
import { planApply } from './api/api-apply.js';
import { ClusterApi, clusterHandlers } from './api/api-cluster.js';
import { ADMIN_COMMON_NAME, ADMIN_ORGANIZATION, clientKey, peerIdentity, requireAdmin } from './pki/auth.js';
import { JoinLimiter } from './nodes/join-limiter.js';
import { StreamLimiter } from './api/stream-limiter.js';
import { LIMITS } from '../proto/limits.js';
import { BoardApi } from './api/api-board.js';
import { nodeServiceHandlers } from './api/api-node.js';
import { SchedulerController } from './controllers/controller-scheduler.js';
import { NodeLifecycleController } from './controllers/controller-node-lifecycle.js';
import { ReplicaSetController } from './controllers/controller-replicaset.js';
import { DeploymentController } from './controllers/controller-deployment.js';
import { CronJobController } from './controllers/controller-cronjob.js';
import { DaemonSetController } from './controllers/controller-daemonset.js';
import { JobController } from './controllers/controller-job.js';
import { TaintEvictionController } from './controllers/controller-taint-eviction.js';
import { EndpointsController } from './controllers/controller-endpoints.js';
import { ServiceLbController } from './controllers/controller-service-lb.js';
import { DEFAULT_TOLERATIONS, type DefaultTolerations } from './controllers/taint-tolerations.js';
import { StorePodControl } from './controllers/pod-control.js';
import { EventSink } from './controllers/event-recorder-store.js';
import { EventTtlController } from './controllers/controller-event-ttl.js';
import { GarbageCollector } from './controllers/garbage-collector/garbage-collector.js';
import { AlwaysLeader } from './controllers/leadership.js';
import { ControllerManager, type Controller } from './controllers/manager.js';
import { selectControllers } from './controllers/controller-selection.js';
import { NodeHeartbeats } from './nodes/node-heartbeats.js';
import { TunnelRegistry } from './nodes/node-tunnels.js';
import { publicKeyFingerprint } from './pki/pki-ca.js';
import { readClientConfig, serverList, writeClientConfig } from './pki/client-config.js';
import { standaloneMembers } from './api/api-members.js';
import { startHttpServer, type RunningHttp } from './http/http-server.js';
import { splitHostPort } from '../proto/names.js';
import { createMetrics } from './http/metrics.js';
import { ensureClusterPki, type ClusterPki } from './pki/pki-ca.js';
import { ServerCa } from './server-ca.js';
import { adminConf as adminConfOf, type AdminConf } from './pki/admin-conf-renewal.js';
import { CertRenewalLoop, certValidity } from '../proto/util/cert-renewal.js';
import { floorFromCertificates, waitForSaneClock } from '../proto/util/clock-sanity.js';
import { readIfExists } from '../proto/util/files.js';
import { validateObjects } from './schema/schema.js';
import { openLevelStore } from './store/store-level.js';
import { openEncryptedStore } from './secrets/secrets-encryption.js';
import { encryptBeforeReplicating, makesFirstMemberOfStore } from './secrets/encrypt-before-replicating.js';
import { SnapshotScheduler } from './store/snapshot-schedule.js';
import type { Store } from './store/store.js';
import type { StoreSnapshot } from './store/store-state.js';
import { isMemberDataDir, openReplicatedStore, prepareMembership, type MembershipOptions, type ReplicatedStore } from './server-raft.js';
import { createTokenRegistry, type TokenRegistry } from './pki/token-registry.js';

export interface ServerOptions {
  dataDir: string;
  grpcAddr: string;
  httpAddr: string;
  logger?: Logger;
  clock?: Clock;
  tlsSans?: string[];
  /** Cluster pod range; each node gets one /24 of it. */
  clusterCidr?: string;
  serviceCidr?: string;
  /** kube-controller-manager's --controllers syntax; default "*", every controller. */
  controllers?: string;
  /** How long Events are kept after they last happened (--event-ttl); default 1 h. */
  eventTtlMs?: number;
  /**
   * Called once, after the server has logged one `fatal` line, when it cannot go on:
   * the store refused a write (STORE_FAILED). The caller should close and exit non-zero.
   * A failure before startServer resolves makes startServer reject instead. Without
   * onFatal (in-process tests, benchmarks) the server stays up with writes refused
   * and /readyz answering 503.
   */
  onFatal?: (err: BrambleError) => void;
  /** How long a node may stay silent before it is marked Ready=Unknown and tainted (default 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /** The not-ready and unreachable NoExecute tolerations every Pod has unless it says otherwise (default 60 s each). */
  defaultTolerations?: Partial<DefaultTolerations>;
  /** Scheduled store snapshots (--snapshot-schedule); none when absent. dir defaults to <dataDir>/snapshots. */
  snapshots?: { schedule: string; retention: number; dir?: string };
  /**
   * A replicated control plane (--cluster-init, --join). A data dir that is already a
   * member stays one without it, but then needs the member's name and address.
   */
  cluster?: MembershipOptions;
  /**
   * The loop that renews the serving and replica certificates while the server runs.
   * `clock` decides when they are due (default: the server's clock); tests drive it
   * apart from the clock that signs them.
   */
  certRenewal?: { clock?: Clock; checkEveryMs?: number };
}

export interface RunningServer {
  grpcPort: number;
  httpPort: number;
  dataDir: string;
  store: Store;
  /** Path of the default join token file. */
  tokenFile: string;
  /** Every control-plane member's address, this one's advertised address first (only this one's on a single server). */
  servers(): string[];
  /** One look at every certificate the server renews, begun now; resolves when it is done (as the loop's own looks). */
  checkCertificates(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';
export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';
export const HEARTBEAT_INTERVAL_SECONDS = 10;

/**
 * How often a member compares its members with those it last wrote to admin.conf: in memory, so
 * often is cheap; the file is read and rewritten only when they changed.
 */
const ADMIN_CONF_REFRESH_MS = 2_000;

/** How long in-flight calls get to finish on close; watches never finish on their own. */
const SHUTDOWN_GRACE_MS = 1000;

/** package.json sits two levels up from dist/control-plane and one up from the source. */
export function packageVersion(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.join(here, '..'), path.join(here, '..', '..')]) {
    const file = path.join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'bramble' && pkg.version) return pkg.version;
  }
  return '0.0.0';
}

/** Where a client on this machine reaches a server bound to `host`. */
export function localClientHost(host: string): string {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Creates the namespaces every cluster has (default, kube-system) that are
 * missing, so a fresh cluster takes manifests written for k3s. Idempotent: run
 * at every start, it creates only what is missing. Returns the names created.
 */
export async function ensureSystemNamespaces(store: Store, clock: Clock): Promise<string[]> {
  const created: string[] = [];
  for (const name of SYSTEM_NAMESPACES) {
    if (store.get('Namespace', undefined, name)) continue;
    const plan = planApply(store, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }], { clock });
    try {
      await store.propose(plan.command);
      created.push(name);
    } catch (e) {
      // Another writer made it between the read and the write: it exists, which is all we need.
      if (!isBrambleError(e, 'ALREADY_EXISTS')) throw e;
    }
  }
  return created;
}

/**
 * The cluster DNS Service, kube-system/kube-dns, holding the service CIDR's first
 * address (clusterDnsAddress) so that no other Service can take the address every
 * Pod's resolv.conf names. It has no selector and no Endpoints: each agent sends
 * its traffic to the resolver on its own board. Made at every start when missing;
 * one already stored is left as it is. Returns whether it was created.
 */
export async function ensureClusterDnsService(store: Store, clock: Clock, serviceCidr: string): Promise<boolean> {
  if (store.get('Service', CLUSTER_DNS_SERVICE.namespace, CLUSTER_DNS_SERVICE.name)) return false;
  const dns: KObject = {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: CLUSTER_DNS_SERVICE.name, namespace: CLUSTER_DNS_SERVICE.namespace, labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' } },
    spec: {
      clusterIP: clusterDnsAddress(serviceCidr),
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }],
    },
  };
  try {
    await store.propose(planApply(store, [dns], { clock, serviceCidr }).command);
    return true;
  } catch (e) {
    if (!isBrambleError(e, 'ALREADY_EXISTS')) throw e;
    return false;
  }
}

/**
 * Services stored before cluster IPs were allocated (or NodePorts without a node
 * port) get theirs at start, as an apply of the stored object would give them.
 * Returns how many were updated.
 */
export async function ensureServiceAllocations(store: Store, clock: Clock, serviceCidr: string): Promise<number> {
  const lacking = (store.list('Service').items as Service[]).filter((s) =>
    !s.spec?.clusterIP || ((s.spec.type === 'NodePort' || s.spec.type === 'LoadBalancer') && s.spec.ports.some((p) => p.nodePort === undefined)));
  if (lacking.length === 0) return 0;
  const plan = planApply(store, lacking, { clock, serviceCidr });
  if (plan.command.ops.length > 0) await store.propose(plan.command);
  return lacking.length;
}

/**
 * Writes <dataDir>/admin.conf once; a later start leaves the admin's credentials alone (the renewal
 * loop renews them). Returns its path when written.
 */
function ensureAdminConfig(conf: AdminConf, pki: ClusterPki, server: string, servers: string[] = [server]): Promise<string | undefined> {
  return conf.exclusive(() => writeAdminConfig(conf.file, pki, server, servers));
}

async function writeAdminConfig(file: string, pki: ClusterPki, server: string, servers: string[]): Promise<string | undefined> {
  if (existsSync(file)) {
    // A member keeps its admin's credentials but learns of members that came or went.
    const cfg = await readClientConfig(file).catch(() => undefined);
    if (!cfg || serverList(cfg).join(',') === [server, ...servers.filter((s) => s !== server)].join(',')) return undefined;
    await writeClientConfig(file, { ...cfg, servers: [cfg.server, ...servers.filter((s) => s !== cfg.server)] });
    return file;
  }
  const issued = await pki.issueClientCert(ADMIN_COMMON_NAME, ADMIN_ORGANIZATION);
  await writeClientConfig(file, { server, servers, ca: pki.caPem, cert: issued.certPem, key: issued.keyPem });
  return file;
}

function bindGrpc(server: grpc.Server, addr: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(addr, creds, (err, port) => {
      if (err) reject(new BrambleError('UNAVAILABLE', `cannot listen for gRPC on ${addr}: ${err.message}`));
      else resolve(port);
    });
  });
}

function shutdownGrpc(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    // Real time on purpose: an injected fake clock must not keep a closing server alive.
    const force = realClock.setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, SHUTDOWN_GRACE_MS);
    server.tryShutdown(() => {
      force.cancel();
      resolve();
    });
  });
}

/** A data dir that is already a member was started with its name and address once; a restart needs them again. */
function requireMembership(m: MembershipOptions | undefined, dataDir: string): MembershipOptions {
  if (!m) throw new BrambleError('INVALID_ARGUMENT', `${dataDir} belongs to a replicated control plane: start it with its --node-name and --advertise-address`);
  return m;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger('bramble-server');
  const clock = opts.clock ?? realClock;
  const dataDir = path.resolve(opts.dataDir);
  const grpcAddr = splitHostPort(opts.grpcAddr, 'the gRPC address');
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await fs.chmod(dataDir, 0o700);

  let store: Store | undefined;
  let grpcBound = false;
  let started = false;
  let failedWhileStarting: BrambleError | undefined;
  let fatalReported = false;
  // The store stops taking writes for good; a control plane that still answers reads
  // would look alive to a supervisor while dropping every change, so it ends instead.
  const onStoreFatal = (err: BrambleError): void => {
    if (!started) {
      failedWhileStarting ??= err;
      return;
    }
    if (fatalReported) return;
    fatalReported = true;
    logger.fatal({ err, dataDir }, err.message);
    opts.onFatal?.(err);
  };
  let failedStore = (): boolean => false;
  const metrics = createMetrics({ store: () => store });
  const cleanups: (() => Promise<void>)[] = [];
  const runCleanups = async (): Promise<void> => {
    grpcBound = false;
    while (cleanups.length > 0) {
      try {
        await cleanups.pop()!();
      } catch (err) {
        logger.warn({ err }, 'error while stopping the server');
      }
    }
  };

  try {
    // HTTP first, so supervisors see "not ready" (503) rather than nothing while the store opens.
    const http: RunningHttp = await startHttpServer({
      addr: opts.httpAddr,
      metrics,
      logger,
      readiness: () => ({ checks: { store: store !== undefined && !failedStore(), grpc: grpcBound }, revision: store?.revision() }),
    });
    cleanups.push(() => http.close());

    const server = new grpc.Server({
      // Bigger messages are refused by grpc-js before they are decoded (RESOURCE_EXHAUSTED).
      'grpc.max_receive_message_length': LIMITS.maxRequestBytes,
      'grpc.max_concurrent_streams': 100,
    });
    const joinLimiter = new JoinLimiter(clock);
    const replicated = opts.cluster?.init === true || opts.cluster?.join !== undefined || isMemberDataDir(dataDir);
    // A joining server takes the cluster's CA before its PKI is made, so it serves with the cluster's.
    // Before anything judges a certificate (client handshakes, renewal, a join): a board that
    // booted without a real-time clock waits here for NTP, with /readyz saying not ready.
    await waitForSaneClock({
      clock, logger, who: 'the server',
      floorMs: floorFromCertificates([await readIfExists(path.join(dataDir, 'tls', 'ca.crt'))]),
    });
    // Before member.json exists: a start that stops half-way is a single server's again, and the next
    // --cluster-init runs this anew.
    if (makesFirstMemberOfStore(dataDir, { init: opts.cluster?.init === true, isMember: isMemberDataDir(dataDir) })) {
      await encryptBeforeReplicating({ dataDir, clock, logger });
    }
    const record = replicated ? await prepareMembership(dataDir, requireMembership(opts.cluster, dataDir), logger) : undefined;
    const sans = [...new Set([...(opts.tlsSans ?? []), '127.0.0.1', 'localhost', os.hostname()])];
    const pki = await ensureClusterPki(dataDir, { sans, clock });
    // The Members service checks join tokens from the start; the registry exists once the store does.
    let tokens: TokenRegistry | undefined;
    const verifyToken = async (t: string): Promise<void> => {
      if (!tokens) throw new BrambleError('UNAVAILABLE', 'the server is still starting: try again shortly');
      await tokens.verify(t);
    };

    let raw: Store & { snapshot(): StoreSnapshot };
    let below: Store;
    let replica: ReplicatedStore | undefined;
    let grpcPort = 0;
    if (record) {
      const membership = requireMembership(opts.cluster, dataDir);
      replica = await openReplicatedStore({
        ...membership, dataDir, record, pki, clock, logger, onFatal: onStoreFatal, verifyToken, joinLimiter,
      });
      const opened = replica;
      failedStore = () => opened.raft.node.failure !== undefined;
      cleanups.push(async () => {
        store = undefined;
        await opened.close();
      });
      raw = replica.raft;
      below = replica.store;
      // Peers call Raft and Members from the start, so this member listens before it has a leader;
      // the Cluster and Node services join them once it is ready.
      replica.addServices(server);
      grpcPort = await bindGrpc(server, opts.grpcAddr, pki.serverCredentials());
      cleanups.push(() => shutdownGrpc(server));
      await replica.waitForLeader();
    } else {
      const levelStore = await openLevelStore({ dataDir, clock, logger: logger.child({ component: 'store' }), onFatal: onStoreFatal });
      failedStore = () => levelStore.failure !== undefined;
      cleanups.push(async () => {
        store = undefined;
        await levelStore.close();
      });
      raw = levelStore;
      below = levelStore;
    }
    // Secrets are encrypted above the propose seam, so LevelDB (and the Raft log, and any backup of
    // the raw store) holds ciphertext; everything below reads and writes through `opened`, never raw.
    const { store: opened, encryption: secretsEncryption } = await openEncryptedStore({
      raw: below, dataDir, clock, logger: logger.child({ component: 'secrets-encryption' }),
      ...(replica ? { peers: replica.keyPeers, barrier: () => (replica as ReplicatedStore).writeBarrier() } : {}),
    });
    replica?.acceptEncryptionKeys((keyFile) => secretsEncryption.adoptKeyFile(keyFile));
    store = opened;

    tokens = createTokenRegistry({ store: opened, caHash: () => pki.caHash, clock });
    const token = await tokens.ensureDefaultToken(dataDir);
    for (const name of await ensureSystemNamespaces(opened, clock)) logger.info({ kind: 'Namespace', objectName: name, action: 'created' }, `created the ${name} namespace`);
    const serviceCidr = opts.serviceCidr ?? DEFAULT_SERVICE_CIDR;
    if (await ensureClusterDnsService(opened, clock, serviceCidr)) {
      logger.info({ kind: 'Service', namespace: CLUSTER_DNS_SERVICE.namespace, objectName: CLUSTER_DNS_SERVICE.name, clusterIP: clusterDnsAddress(serviceCidr), action: 'created' }, 'created the cluster DNS Service');
    }
    const allocated = await ensureServiceAllocations(opened, clock, serviceCidr);
    if (allocated > 0) logger.info({ services: allocated }, 'allocated cluster IPs and node ports to services stored without them');

    // One sink for every component: each gets its source.component, all share the coalesced writes.
    const events = new EventSink({
      store: opened, clock, logger: logger.child({ component: 'events' }),
      ...(opts.eventTtlMs !== undefined ? { aggregateWindowMs: opts.eventTtlMs } : {}),
    });
    cleanups.push(() => events.close());

    const adminConf = adminConfOf(path.join(dataDir, 'admin.conf'), pki);
    const serverCa = new ServerCa({
      pki, dataDir, clock, logger,
      ...(replica && record ? { member: { name: record.name, peers: replica.caPeers, acceptClusterCa: (take) => replica.acceptClusterCa(take) } } : {}),
    });

    const api = new ClusterApi({
      store: opened, clock, logger, validate: validateObjects, tokens,
      version: packageVersion(), nodeName: os.hostname(), serviceCidr,
      secretsEncryption,
      ...(replica ? {
        writeBarrier: () => (replica as ReplicatedStore).writeBarrier(),
        planBarrier: () => (replica as ReplicatedStore).planBarrier(),
      } : {}),
    });
    const heartbeats = new NodeHeartbeats(clock);
    const tunnels = new TunnelRegistry();
    const clusterCidr = opts.clusterCidr ?? DEFAULT_CLUSTER_CIDR;
    let boundPort = grpcPort || grpcAddr.port;
    const streams = { limiter: new StreamLimiter(), clientOf: clientKey };
    const proto = loadProto();
    server.addService(proto.bramble.v1.Cluster.service, clusterHandlers(api, {
      logger, metrics, streams, authorize: (call) => requireAdmin(call, 'use the Cluster API'),
      board: new BoardApi({ store: opened, tunnels, heartbeats }),
      // Both wait out an election as a forwarded write does, instead of failing at once; a write
      // is planned only once this member has every write acknowledged before it.
      ...(replica ? {
        linearizableRead: () => (replica as ReplicatedStore).writeBarrier(),
        // Every answer names the members, so a CLI whose config lists one of them learns the rest.
        memberAddresses: () => (replica as ReplicatedStore).servers(),
      } : {}),
      members: replica?.members ?? standaloneMembers(os.hostname(), () => `${localClientHost(grpcAddr.host)}:${boundPort}`, () => opened.revision()),
      // The raw store, beneath any decorator: a backup holds what is on disk.
      snapshots: { snapshot: () => raw.snapshot(), serverName: record?.name ?? os.hostname(), clock },
      ...(serverCa.rotateClusterCa ? { rotateClusterCa: serverCa.rotateClusterCa } : {}),
    }));
    server.addService(proto.bramble.v1.Node.service, nodeServiceHandlers({
      store: opened, clock, logger: logger.child({ component: 'node-api' }), metrics, streams,
      joinLimiter,
      join: {
        store: opened, clock, clusterCidr,
        verifyToken: async (t) => { await tokens.verify(t); },
        signNodeCsr: (csr, name) => pki.signNodeCsr(csr, name),
        csrKeyFingerprint: async (csr) => publicKeyFingerprint(csr),
      },
      caPem: () => pki.caPem, clusterCidr, serviceCidr,
      heartbeatIntervalSeconds: HEARTBEAT_INTERVAL_SECONDS,
      identity: (call) => peerIdentity(call),
      heartbeats, tunnels, events,
      // Heartbeats and tunnels live in the leader's memory: agents talk to the leader, and learn every member.
      ...(replica ? { leader: replica.nodeLeader(), servers: () => (replica as ReplicatedStore).servers() } : {}),
    }));

    // Controllers run on the leader; with one replica this process always is.
    const wanted = selectControllers(opts.controllers ?? '*');
    const controllers = new ControllerManager({
      store: opened, clock, leadership: replica?.raft.leadership ?? new AlwaysLeader(), logger: logger.child({ component: 'controller-manager' }),
      controllers: ([
        new SchedulerController({ store: opened, clock, logger: logger.child({ component: 'scheduler' }), recorder: events.recorder('default-scheduler') }),
        new NodeLifecycleController({
          store: opened, clock, heartbeats, gracePeriodMs: opts.nodeMonitorGracePeriodMs, logger: logger.child({ component: 'node-lifecycle' }),
          recorder: events.recorder('node-controller'),
        }),
        new TaintEvictionController({
          store: opened, clock, defaults: {
            notReadySeconds: opts.defaultTolerations?.notReadySeconds ?? DEFAULT_TOLERATIONS.notReadySeconds,
            unreachableSeconds: opts.defaultTolerations?.unreachableSeconds ?? DEFAULT_TOLERATIONS.unreachableSeconds,
          }, logger: logger.child({ component: 'taint-eviction' }), recorder: events.recorder('taint-eviction-controller'),
        }),
        new ReplicaSetController({
          store: opened, clock, podControl: new StorePodControl({ store: opened, clock }), logger: logger.child({ component: 'replicaset' }),
          recorder: events.recorder('replicaset-controller'),
        }),
        new DeploymentController({ store: opened, clock, logger: logger.child({ component: 'deployment' }), recorder: events.recorder('deployment-controller') }),
        new DaemonSetController({
          store: opened, clock, podControl: new StorePodControl({ store: opened, clock }), logger: logger.child({ component: 'daemonset' }),
          recorder: events.recorder('daemonset-controller'),
        }),
        new CronJobController({ store: opened, clock, logger: logger.child({ component: 'cronjob' }), recorder: events.recorder('cronjob-controller') }),
        new JobController({
          store: opened, clock, podControl: new StorePodControl({ store: opened, clock }), logger: logger.child({ component: 'job' }),
          recorder: events.recorder('job-controller'),
        }),
        new GarbageCollector({ store: opened, clock, logger: logger.child({ component: 'garbage-collector' }) }),
        new EventTtlController({ store: opened, clock, logger: logger.child({ component: 'event-ttl' }), ttlMs: opts.eventTtlMs }),
        new EndpointsController({ store: opened, clock, logger: logger.child({ component: 'endpoints' }), recorder: events.recorder('endpoint-controller') }),
        new ServiceLbController({
          store: opened, clock, logger: logger.child({ component: 'service-lb' }), portConflicts: heartbeats, recorder: events.recorder('service-lb-controller'),
        }),
      ] as Controller[]).filter((c) => wanted.has(c.name)),
    });
    await controllers.start();
    cleanups.push(() => controllers.stop());
    if (opts.snapshots) {
      const snapshots = new SnapshotScheduler({
        ...opts.snapshots, dir: path.resolve(opts.snapshots.dir ?? path.join(dataDir, 'snapshots')), serverName: os.hostname(),
        source: () => raw.snapshot(), clock, logger: logger.child({ component: 'snapshots' }),
      });
      snapshots.start();
      cleanups.push(() => snapshots.stop());
    }
    if (!replica) {
      grpcPort = await bindGrpc(server, opts.grpcAddr, pki.serverCredentials());
      cleanups.push(() => shutdownGrpc(server));
    }
    boundPort = grpcPort;
    grpcBound = true;

    // Renewed while running, so a server that stays up for a year never serves an expired certificate.
    const renewal = new CertRenewalLoop({
      clock: opts.certRenewal?.clock ?? clock, logger: logger.child({ component: 'cert-renewal' }),
      ...(opts.certRenewal?.checkEveryMs !== undefined ? { checkEveryMs: opts.certRenewal.checkEveryMs } : {}),
      certs: [
        { name: 'serving', validity: () => certValidity(pki.servingCertPem()), renew: () => pki.renewServingCert(), stale: () => pki.servingCertStale() },
        ...(replica ? [replica.replicaCert] : []),
        adminConf.renewal,
      ],
    });
    renewal.start();
    cleanups.push(() => renewal.stop());
    // Rotations of the cluster CA are taken up while running, through the same loop.
    serverCa.start(renewal, tokens);
    cleanups.push(async () => serverCa.stop());

    const localServer = `${localClientHost(grpcAddr.host)}:${grpcPort}`;
    const memberList = (): string[] => (replica ? [localServer, ...replica.servers().filter((a) => a !== opts.cluster?.advertise)] : [localServer]);
    const adminWritten = await ensureAdminConfig(adminConf, pki, localServer, memberList());
    if (adminWritten) logger.info({ adminConf: adminWritten }, 'wrote the admin client config');
    if (replica) {
      // Members come and go: admin.conf follows, so the CLI on this board fails over to the right ones.
      let written = memberList().join(',');
      const refresh = clock.setInterval(() => {
        const now = memberList();
        if (now.join(',') === written) return;
        written = now.join(',');
        ensureAdminConfig(adminConf, pki, localServer, now)
          .then((file) => { if (file) logger.info({ adminConf: file, servers: memberList() }, 'admin.conf lists the members as they are now'); })
          .catch((err: unknown) => {
            written = ''; // try again at the next tick
            logger.warn({ err }, 'admin.conf could not be updated with the members');
          });
      }, ADMIN_CONF_REFRESH_MS);
      cleanups.push(async () => refresh.cancel());
    }
    logger.info(
      { grpc: `${grpcAddr.host}:${grpcPort}`, http: `${splitHostPort(opts.httpAddr, 'the HTTP address').host}:${http.port}`, dataDir },
      'bramble server started',
    );
    logger.info({ tokenFile: path.join(dataDir, 'token'), created: token.created }, 'join token for agents is in the token file');

    // Runs first on close: the controllers and APIs of this member still work while another takes over.
    if (replica) {
      const leaving = replica;
      cleanups.push(() => leaving.handOver());
    }

    // A write refused while starting up has already failed whichever step made it, but a
    // background one (a controller's) would not have: either way the server must not start.
    if (failedWhileStarting) throw failedWhileStarting;
    started = true;
    let closing: Promise<void> | undefined;
    return {
      grpcPort,
      httpPort: http.port,
      dataDir,
      store: opened,
      tokenFile: path.join(dataDir, 'token'),
      servers: () => (replica ? replica.servers() : [localServer]),
      checkCertificates: () => renewal.check(),
      close: () => (closing ??= runCleanups().then(() => logger.info({ dataDir }, 'bramble server stopped'))),
    };
  } catch (e) {
    await runCleanups();
    throw e;
  }
}
