// `bramble agent`: wires one board. Join (or reuse the credential in the data
// dir), import air-gap images, then let the pod reconciler run what the control
// plane assigns — starting from the locally cached assignments, so a board that
// restarts while the control plane is away keeps its pods running.
import { mkdir, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { realClock, type Clock } from '../proto/util/clock.js';
import { BrambleError } from '../proto/util/errors.js';
import { loadProto } from '../proto/load.js';
import { createLogger, type Logger } from '../proto/util/log.js';
import type { Pod } from '../proto/model.js';
import { DEFAULT_NAMESPACE, parseQuantity, podContainerNamed } from '../proto/model.js';
import type { HeartbeatRequest } from '../proto/types.js';
import { agentChannelOptions, ensureJoined } from './agent-join.js';
import { AgentSession, type DesiredState } from './agent-session.js';
import { AssignmentsCache } from './assignments-cache.js';
import { nodeChannelCredentials, nodeCredentialPaths } from './join-tls.js';
import { floorFromCertificates, waitForSaneClock } from '../proto/util/clock-sanity.js';
import { readIfExists } from '../proto/util/files.js';
import { CniNetwork } from './network-cni.js';
import { NetworkView, type NetworkListener, type NetworkSnapshot } from './network-view.js';
import { HostGwRoutes, IpRouteTable } from './routes-hostgw.js';
import { BoardServices, readHostResolvConf } from './agent-services.js';
import { execRunner } from './exec-runner.js';
import { cgroupReader, PodFiguresSampler } from './pod-figures.js';
import { readLogs } from './pod-logs.js';
import { PodReconciler } from './pod-reconciler.js';
import { realProcessProbe } from './process-probe.js';
import { CtrRuntime } from './runtime-ctr.js';
import { ctrExecSpawner } from './exec-stream.js';
import { LABEL_CONTAINER_NAME, LABEL_POD_UID, type ShimGroupMode } from './runtime.js';
import type { ExecBackend } from './tunnel-exec.js';
import { nodeResources, parseReserve, toProtoFigures, toProtoNodeInfo, DEFAULT_SYSTEM_RESERVED } from './stats.js';
import { SiNodeStats } from './stats-si.js';
import { ServerList, serverListFile } from './server-list.js';
import { NodeConnection } from './node-connection.js';
import { CaBundleWatch, nodeCertRenewable } from './node-cert-renewal.js';
import { CertRenewalLoop } from '../proto/util/cert-renewal.js';
import { PodEventBuffer } from './pod-events.js';

export interface AgentOptions {
  /** HOST:PORT of the control plane's gRPC port. */
  server: string;
  /**
   * Every control-plane member given (default: `server` alone). The agent also remembers the
   * members the control plane lists (<data-dir>/servers.json) and fails over between them all.
   */
  servers?: string[];
  token?: string;
  nodeName?: string;
  dataDir: string;
  /** The loop that renews the node certificate; `clock` decides when it is due (default: the agent's clock). */
  certRenewal?: { clock?: Clock; checkEveryMs?: number };
  containerdAddress?: string;
  containerdNamespace?: string;
  labels?: Record<string, string>;
  /** e.g. "cpu=100m,memory=256Mi": kept back from allocatable for the system. */
  reserve?: string;
  insecureRegistries?: string[];
  cniPath?: string;
  /** Default "pod": a Pod's containers share one containerd shim. */
  shimGroup?: ShimGroupMode;
  version?: string;
  logger?: Logger;
  clock?: Clock;
  heartbeatIntervalMs?: number;
  /** How long a first join retries while no member leads or answers; default 2 minutes (join-retry.ts). */
  joinDeadlineMs?: number;
  resyncMs?: number;
  /**
   * A Pod's /etc/resolv.conf from its dnsPolicy (the cluster DNS sets this); undefined
   * content mounts none. Default: a copy of the board's /etc/resolv.conf.
   */
  resolvConf?: (pod: Pod) => string | undefined;
  /**
   * The CNI bridge's own masquerade of everything leaving the node's Pod range. Default
   * false: it would hide the source Pod IP from other boards; the Service rules masquerade
   * only what leaves the cluster CIDR.
   */
  bridgeIpMasq?: boolean;
}

/** The cluster network as this board sees it, for the Service rules and the DNS resolver. */
export interface NetworkViewHandle {
  snapshot(): NetworkSnapshot;
  onChange(listener: NetworkListener): () => void;
}

export interface RunningAgent {
  nodeName: string;
  podCidr: string;
  clusterCidr: string;
  /** Nodes, Services and Endpoints from Node.WatchNetwork. */
  network: NetworkViewHandle;
  close(): Promise<void>;
}

export const DEFAULT_CONTAINERD_ADDRESS = '/run/containerd/containerd.sock';

export function defaultAgentDataDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/bramble/agent' : path.join(os.homedir(), '.bramble', 'agent');
}

/** `<data-dir>/images/*.tar`: images carried to a board without registry access, as k3s users know. */
async function importAirGapImages(runtime: CtrRuntime, dataDir: string, logger: Logger): Promise<void> {
  const dir = path.join(dataDir, 'images');
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.tar')).sort();
  for (const f of files) {
    try {
      const names = await runtime.importImage(path.join(dir, f));
      logger.info({ file: f, images: names }, 'imported air-gap image');
    } catch (err) {
      logger.error({ file: f, err: String(err) }, 'air-gap image import failed');
    }
  }
}

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const clock = opts.clock ?? realClock;
  const nodeName = opts.nodeName ?? os.hostname().toLowerCase();
  const logger = opts.logger ?? createLogger('bramble-agent');
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });

  // The given members first, then those heard before a restart: a board whose first server is gone still finds the cluster.
  const servers = new ServerList(opts.servers?.length ? opts.servers : [opts.server], {
    store: serverListFile(opts.dataDir, logger), logger: logger.child({ component: 'servers' }),
  });
  await servers.loadPersisted();
  // Before the first handshake judges a certificate: a board without a real-time clock
  // waits for NTP here instead of failing every handshake and crash-looping.
  const credentialFiles = nodeCredentialPaths(opts.dataDir);
  await waitForSaneClock({
    clock, logger, who: 'the agent',
    // The CA's notBefore, not node.crt's: a clock a little behind the server's still works with a fresh node certificate
    // (the server judges it, by its own clock), while no right clock is before the cluster's CA was made.
    floorMs: floorFromCertificates([await readIfExists(credentialFiles.ca)]),
  });
  const joined = await ensureJoined({
    server: servers.current(), servers, token: opts.token, nodeName, dataDir: opts.dataDir, logger, clock, deadlineMs: opts.joinDeadlineMs,
  });
  if (joined.servers) await servers.learn(joined.servers).catch((err: unknown) => logger.warn({ err: String(err) }, 'the known servers could not be saved'));
  const namespace = opts.containerdNamespace ?? 'bramble';
  const containerdAddress = opts.containerdAddress ?? DEFAULT_CONTAINERD_ADDRESS;
  const runtime = new CtrRuntime({
    address: containerdAddress,
    namespace,
    clock,
    insecureRegistries: opts.insecureRegistries,
    groupShims: opts.shimGroup !== 'container',
  });
  const runtimeVersion = await runtime.version();
  await importAirGapImages(runtime, opts.dataDir, logger);

  const network = new CniNetwork({
    config: { podCIDR: joined.podCidr, clusterCIDR: joined.clusterCidr, bridgeName: 'bramble0' },
    dataDir: opts.dataDir,
    cniPath: opts.cniPath,
    ipMasq: opts.bridgeIpMasq ?? false,
  });
  const stats = new SiNodeStats({ clock });
  const info = await stats.nodeInfo();
  const addresses = await stats.addresses();
  const services = new BoardServices({
    nodeName, podCidr: joined.podCidr, clusterCidr: joined.clusterCidr, serviceCidr: joined.serviceCidr,
    addresses: () => addresses.filter((a) => a.type === 'InternalIP' && a.address.includes('.')).map((a) => a.address),
    runner: execRunner, clock, logger: logger.child({ component: 'services' }), hostResolvConf: await readHostResolvConf(),
  });
  // Before any Pod starts: its resolv.conf names the cluster DNS, which must answer.
  await services.start();
  const resolvConf = opts.resolvConf ?? ((pod: Pod): string | undefined => services.resolvConf(pod));
  const resources = nodeResources(info, parseReserve(opts.reserve ?? DEFAULT_SYSTEM_RESERVED));
  const hostIP = addresses.find((a) => a.type === 'InternalIP')?.address;

  const proto = loadProto();
  // Replaced when the node certificate is renewed; every dial after that uses the new one.
  let nodeCreds = joined.credentials;
  let credentials = nodeChannelCredentials(nodeCreds);
  // The current member after the join is the one that took it (or the first, for a board joined before).
  const connection = new NodeConnection({
    servers, clock, logger: logger.child({ component: 'connection' }),
    dial: (address) => new proto.bramble.v1.Node(address, credentials, agentChannelOptions(address)),
  });
  const caBundle = new CaBundleWatch({ current: () => nodeCreds, renewNow: () => void renewal.check(), logger });
  const renewal = new CertRenewalLoop({
    clock: opts.certRenewal?.clock ?? clock, logger: logger.child({ component: 'cert-renewal' }),
    ...(opts.certRenewal?.checkEveryMs !== undefined ? { checkEveryMs: opts.certRenewal.checkEveryMs } : {}),
    certs: [nodeCertRenewable({
      nodeName, dataDir: opts.dataDir, connection, clock,
      current: () => nodeCreds,
      stale: () => caBundle.stale(),
      install: (next) => {
        nodeCreds = next;
        credentials = nodeChannelCredentials(next);
        caBundle.installed();
      },
    })],
  });
  const cache = new AssignmentsCache(opts.dataDir);
  const figures = new PodFiguresSampler(nodeName, cgroupReader(namespace), clock);
  let desired: DesiredState = { pods: [], configMaps: [], secrets: [] };
  let session: AgentSession | undefined;

  const events = new PodEventBuffer({
    clock, logger: logger.child({ component: 'events' }),
    send: (batch) => session?.recordEvents(batch) ?? Promise.reject(new Error('no session yet')),
  });
  const reconciler: PodReconciler = new PodReconciler({
    runtime, network, clock, dataDir: opts.dataDir, hostIP, resolvConf, allocatable: { cpuMillis: parseQuantity(resources.allocatable.cpu, true), memoryBytes: parseQuantity(resources.allocatable.memory) }, resyncMs: opts.resyncMs, processProbe: realProcessProbe,
    logger: logger.child({ component: 'pods' }),
    reportStatus: (pod, status) => session?.reportStatus(pod, status),
    recordEvent: events.record,
    onFinalized: (pod): void => session?.reportStatus(pod, reconciler.lastStatus(pod.metadata.uid ?? '') ?? pod.status ?? {}, true),
  });
  const cached = await cache.loadOrDiscard((problem) => logger.warn({ problem }, 'assignments cache not fully usable'));
  if (cached) {
    desired = cached;
    // Not synced: the control plane has not confirmed this yet, so nothing unknown is removed.
    reconciler.setDesired(cached.pods, cached.configMaps, cached.secrets, { synced: false });
    logger.info({ pods: cached.pods.length }, 'resumed the pods assigned before the restart');
  }
  reconciler.start();

  const findPod = (ns: string, name: string): Pod | undefined =>
    desired.pods.find((p) => (p.metadata.namespace ?? DEFAULT_NAMESPACE) === ns && p.metadata.name === name);

  const exec: ExecBackend = {
    // As for logs: only a container of a Pod assigned here, named by the checked Pod, never by the request.
    resolve: async (ref) => {
      const pod = findPod(ref.namespace, ref.pod);
      const shown = (v: string): string => JSON.stringify(v.slice(0, 80));
      if (!pod?.metadata.uid || pod.metadata.uid !== ref.podUid) {
        throw new BrambleError('NOT_FOUND', `exec must name a pod on this node: pod ${shown(ref.namespace)}/${shown(ref.pod)} is not one`);
      }
      const container = podContainerNamed(pod.spec, ref.container);
      if (!container) throw new BrambleError('NOT_FOUND', `container ${shown(ref.container)} is not in pod "${pod.metadata.name}"`);
      const running = (await runtime.list()).find((c) =>
        c.labels[LABEL_POD_UID] === pod.metadata.uid && c.labels[LABEL_CONTAINER_NAME] === container.name && c.state === 'running');
      if (!running) throw new BrambleError('UNAVAILABLE', `container "${container.name}" of pod "${pod.metadata.name}" is not running on this node`);
      return running.id;
    },
    spawn: ctrExecSpawner({ address: containerdAddress, namespace, clock }),
  };

  session = new AgentSession({
    connection, nodeName, clock, logger,
    onCaBundle: (sha256) => caBundle.heard(sha256),
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 10_000,
    heartbeat: async (): Promise<HeartbeatRequest> => ({
      nodeName,
      info: toProtoNodeInfo(info, { agentVersion: opts.version ?? '0.0.0', containerRuntimeVersion: runtimeVersion }),
      capacity: resources.capacity,
      allocatable: resources.allocatable,
      addresses,
      figures: toProtoFigures(nodeName, await stats.figures()),
      // The reconciler's last list: at most a resync old, and listing again costs ctr processes.
      pods: await figures.sample(reconciler.knownContainers()),
      labels: opts.labels ?? {},
      // LoadBalancer ports a process here holds: the control plane leaves this board out of their ingress.
      portConflicts: services.portConflicts(),
    }),
    onDesired: (state, synced) => {
      desired = state;
      reconciler.setDesired(state.pods, state.configMaps, state.secrets, { synced });
      cache.save(state).catch((err: unknown) => logger.warn({ err: String(err) }, 'could not cache assignments'));
    },
    tunnel: {
      logs: (req, signal) => {
        // Only a container of a Pod assigned here: the names then come from a checked Pod, not from the request.
        const pod = findPod(req.namespace, req.pod);
        const container = pod && podContainerNamed(pod.spec, req.container);
        if (!pod?.metadata.uid || !container) {
          const shown = (v: string): string => JSON.stringify(v.slice(0, 80));
          throw new BrambleError('NOT_FOUND', `logs must name a container of a pod on this node: container ${shown(req.container)} of pod ${shown(req.namespace)}/${shown(req.pod)} is not one`);
        }
        const ref = { namespace: pod.metadata.namespace ?? DEFAULT_NAMESPACE, name: pod.metadata.name, uid: pod.metadata.uid };
        return readLogs(opts.dataDir, ref, container.name, {
          tailLines: req.tailLines >= 0 ? req.tailLines : undefined, follow: req.follow, previous: req.previous, clock, signal,
        });
      },
      importImage: async (chunks) => {
        const dir = path.join(opts.dataDir, 'images', 'incoming');
        await mkdir(dir, { recursive: true });
        const file = path.join(dir, `${randomBytes(6).toString('hex')}.tar`);
        try {
          await writeFile(file, '');
          for await (const c of chunks) await appendFile(file, c);
          return await runtime.importImage(file);
        } finally {
          await rm(file, { force: true });
        }
      },
      podFigures: async () => figures.sample(reconciler.knownContainers()),
      exec,
    },
  });
  session.start();

  // Routes to the other boards' Pods follow the network view; only a complete (synced) view may remove one.
  const view = new NetworkView({ connection, nodeName, clock, logger: logger.child({ component: 'network' }) });
  const hostgw = new HostGwRoutes({ table: new IpRouteTable(), nodeName, clock, logger: logger.child({ component: 'routes' }) });
  view.onChange((snap) => {
    services.update(snap);
    if (snap.synced) void hostgw.update(snap.nodes);
  });
  hostgw.start();
  view.start();
  renewal.start();
  logger.info({ node: nodeName, podCidr: joined.podCidr, server: connection.address(), servers: servers.all(), runtime: runtimeVersion }, 'bramble agent started');

  let closing: Promise<void> | undefined;
  return {
    nodeName,
    podCidr: joined.podCidr,
    clusterCidr: joined.clusterCidr,
    network: { snapshot: () => view.snapshot(), onChange: (l) => view.onChange(l) },
    // Stopping the agent leaves the pods running, and their routes in place (edge autonomy):
    // a restarted agent adopts both; `bramble agent --cleanup` removes them.
    close: () =>
      (closing ??= (async () => {
        await renewal.stop();
        view.stop();
        await hostgw.stop();
        await services.stop();
        events.stop();
        session?.stop();
        await reconciler.stop();
        connection.close();
        logger.info({ node: nodeName }, 'bramble agent stopped');
      })()),
  };
}
