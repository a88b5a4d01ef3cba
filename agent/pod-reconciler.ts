// The agent's pod loop: makes the containers on this board match the Pods bound
// to it. Handlers only queue pod uids; reconcile(uid) re-reads desired and
// observed state, plans (pod-plan.ts), acts through the runtime and network
// seams, and always recomputes and reports the status (pod-status.ts).
// Knowledge from the local cache (not synced) never kills anything unknown.
import type { Clock, Timer } from '../proto/util/clock.js';
import { silentLogger, type Logger } from '../proto/util/log.js';
import type { Container, KObject, Pod, PodStatus } from '../proto/model.js';
import { DEFAULT_NAMESPACE } from '../proto/model.js';
import { WorkQueue, runWorkers } from '../proto/util/work-queue.js';
import { portMappingsOf, type PodNetwork, type PodSandbox } from './network.js';
import { ensurePodEtcFiles } from './pod-hosts.js';
import { CrashBackoff, PullBackoff, type CrashBackoffPolicy } from './pod-backoff.js';
import { configSourceOf, type ConfigSource } from './pod-env.js';
import { containerLogPath, pruneAttemptLogs, removePodLogs, rotateIfNeeded, type RotationPolicy } from './pod-logs.js';
import { graceSecondsOf, isSidecarAttempt, planPod, planTeardown } from './pod-plan.js';
import { PodProber, type ProbeTransport } from './pod-probes.js';
import type { ProcessProbe } from './process-probe.js';
import { startContainer } from './pod-start.js';
import type { RecordPodEvent } from './pod-events.js';
import { computePodStatus, sameStatus, type WaitingReason } from './pod-status.js';
import { ensureVolumes, listVolumePods, removeVolumes } from './pod-volumes.js';
import {
  LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID, LABEL_RESTART_COUNT,
  type ContainerInfo, type ContainerRuntime,
} from './runtime.js';

export interface PodReconcilerOptions {
  runtime: ContainerRuntime;
  network: PodNetwork;
  clock: Clock;
  dataDir: string;
  reportStatus(pod: Pod, status: PodStatus): Promise<void> | void;
  /** Called once the containers, sandbox and volumes of a Pod with a deletionTimestamp are gone. */
  onFinalized?(pod: Pod): Promise<void> | void;
  hostIP?: string;
  /** The node's allocatable CPU and memory: what resourceFieldRef reads for limits a container does not set. */
  allocatable?: { cpuMillis?: number; memoryBytes?: number };
  probeTransport?: ProbeTransport;
  /**
   * How often exits are looked for; default 5 s. With a processProbe this checks the pids of
   * the running containers and lists the runtime only when one is gone (or after this
   * reconciler changed containers); without one it lists the runtime every time.
   */
  resyncMs?: number;
  /** How often every pod is reconciled regardless, from one runtime list; default 60 s. */
  fullResyncMs?: number;
  /** Checks container pids between runtime lists, so an idle board spawns no `ctr`. */
  processProbe?: ProcessProbe;
  workers?: number;
  logRotation?: RotationPolicy;
  crashBackoff?: CrashBackoffPolicy;
  logger?: Logger;
  /** Events about Pods (Started, Killing, BackOff, Unhealthy), as the kubelet records them. */
  recordEvent?: RecordPodEvent;
  /**
   * The Pod's /etc/resolv.conf (from its dnsPolicy); undefined, or no function: none is
   * mounted and the image's own file stays.
   */
  resolvConf?: (pod: Pod) => string | undefined;
}

export class PodReconciler {
  private desired = new Map<string, Pod>();
  /** Pods that left the desired set, kept for their grace period until torn down. */
  private readonly gone = new Map<string, Pod>();
  private configs: ConfigSource = configSourceOf([], []);
  private configText = '';
  private synced = false;
  private readonly queue: WorkQueue;
  private readonly crash: CrashBackoff;
  private readonly pull: PullBackoff;
  private readonly prober: PodProber;
  private readonly waiting = new Map<string, Map<string, WaitingReason>>();
  private readonly reported = new Map<string, PodStatus>();
  private readonly sandboxes = new Map<string, PodSandbox>();
  private readonly finalized = new Set<string>();
  private seen = new Map<string, string>();
  /**
   * The last runtime list. `seq` orders lists and this reconciler's own container changes:
   * a list started after a pod's last change (changedAt) still tells that pod's containers,
   * as nothing else changes them but exits, which the process probe catches.
   */
  private known: { seq: number; containers: readonly ContainerInfo[] } | undefined;
  private seq = 0;
  private readonly changedAt = new Map<string, number>();
  private lastChange = 0;
  private lastResyncList = 0;
  private timers: Timer[] = [];
  private workersDone: Promise<void> | undefined;
  private inFlight = 0;
  private readonly log: Logger;

  constructor(private readonly opts: PodReconcilerOptions) {
    this.queue = new WorkQueue(opts.clock);
    this.crash = new CrashBackoff(opts.crashBackoff);
    this.pull = new PullBackoff(opts.crashBackoff);
    this.prober = new PodProber({
      clock: opts.clock, runtime: opts.runtime, transport: opts.probeTransport, onChange: (uid) => this.queue.add(uid),
      onFailure: (uid, container, kind, message) => {
        const pod = this.desired.get(uid);
        if (pod) this.event(pod, 'Warning', 'Unhealthy', `${kind === 'liveness' ? 'Liveness' : 'Readiness'} probe failed: ${message}`, container);
      },
    });
    this.log = opts.logger ?? silentLogger();
  }

  /** The full set of Pods bound to this node as last known; `synced` false when it came from the local cache. */
  setDesired(pods: Pod[], configMaps: KObject[], secrets: KObject[], opts: { synced: boolean }): void {
    const next = new Map(pods.filter((p) => p.metadata.uid).map((p) => [p.metadata.uid!, p]));
    const configText = JSON.stringify([configMaps, secrets]);
    const configChanged = configText !== this.configText;
    this.configs = configSourceOf(configMaps, secrets);
    this.configText = configText;
    for (const [uid, pod] of next) {
      if (configChanged || JSON.stringify(this.desired.get(uid)) !== JSON.stringify(pod)) this.queue.add(uid);
      this.gone.delete(uid);
    }
    for (const [uid, pod] of this.desired) {
      if (next.has(uid)) continue;
      this.gone.set(uid, pod);
      this.queue.add(uid);
    }
    const becameSynced = opts.synced && !this.synced;
    this.desired = next;
    this.synced = opts.synced;
    if (becameSynced) this.resyncQuietly(true);
  }

  start(): void {
    if (this.workersDone) return;
    const onError = (uid: string, err: unknown): void => this.log.warn({ uid, err: String(err) }, 'pod reconcile failed; retrying');
    this.workersDone = runWorkers(this.queue, (uid) => this.reconcileCounted(uid), this.opts.workers ?? 3, onError);
    this.timers.push(this.opts.clock.setInterval(() => this.resyncQuietly(false), this.opts.resyncMs ?? 5_000));
    this.timers.push(this.opts.clock.setInterval(() => this.spreadFullResync(), this.opts.fullResyncMs ?? 60_000));
    this.resyncQuietly(true);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.prober.stopAll();
    this.queue.shutdown();
    await this.workersDone;
  }

  /** Whether work is queued or running, resyncs included (tests poll this to settle). */
  get busy(): boolean {
    return this.queue.length > 0 || this.inFlight > 0;
  }

  lastStatus(uid: string): PodStatus | undefined {
    return this.reported.get(uid);
  }

  /** The containers as of the last runtime list (the heartbeat's Pod figures read this instead of listing again). */
  knownContainers(): readonly ContainerInfo[] {
    return this.known?.containers ?? [];
  }

  /**
   * Lists the runtime and queues pods whose containers changed; `full` queues every leftover,
   * and every desired pod unless `queueDesired` is false. A quick (not full) resync lists only
   * when the last list may be out of date (see needsList).
   */
  async resync(full: boolean, queueDesired = true): Promise<void> {
    if (!full && !this.needsList()) {
      for (const c of this.known?.containers ?? []) {
        if (c.state === 'running') await this.rotateLog(c);
      }
      return;
    }
    const listed = await this.listRuntime();
    this.lastResyncList = listed.seq;
    const byUid = new Map<string, ContainerInfo[]>();
    for (const c of listed.containers) {
      const uid = c.labels[LABEL_POD_UID];
      if (uid) byUid.set(uid, [...(byUid.get(uid) ?? []), c]);
    }
    const seen = new Map([...byUid].map(([uid, cs]) => [uid, cs.map((c) => `${c.id}:${c.state}:${c.exitCode ?? ''}`).sort().join(',')]));
    for (const [uid, sig] of seen) if (this.seen.get(uid) !== sig) this.queue.add(uid);
    for (const uid of this.seen.keys()) if (!seen.has(uid)) this.queue.add(uid);
    this.seen = seen;
    if (full) {
      if (queueDesired) for (const uid of this.desired.keys()) this.queue.add(uid);
      if (this.synced) {
        const sandboxes = (await this.opts.network.listPods()).map((s) => s.podUid);
        const leftovers = [...byUid.keys(), ...sandboxes, ...(await listVolumePods(this.opts.dataDir))];
        for (const uid of leftovers) if (!this.desired.has(uid)) this.queue.add(uid);
      }
    }
    for (const c of [...byUid.values()].flat()) {
      if (c.state === 'running') await this.rotateLog(c);
    }
  }

  async reconcile(uid: string): Promise<void> {
    const pod = this.desired.get(uid);
    const containers = await this.observe(uid);
    if (!pod || pod.metadata.deletionTimestamp) {
      if (!pod && !this.synced) return;
      return this.teardown(uid, pod, containers);
    }
    let failure: unknown;
    let touched = true;
    try {
      touched = await this.act(pod, containers);
    } catch (e) {
      failure = e;
    }
    if (touched || failure !== undefined) this.markChanged(uid);
    // Listing costs ctr processes; when nothing was started, stopped or removed the first list still holds.
    const after = touched ? await this.listPod(uid) : containers;
    const running = new Map(after.filter((c) => c.state === 'running').map((c) => [c.labels[LABEL_CONTAINER_NAME] ?? '', c]));
    this.prober.sync(pod, running, this.podIP(pod));
    await this.report(pod, after, false);
    if (failure !== undefined) throw failure;
  }

  /** Makes one step toward the desired containers; whether it started, stopped or removed any. */
  private async act(pod: Pod, containers: ContainerInfo[]): Promise<boolean> {
    const uid = pod.metadata.uid!;
    const now = this.opts.clock.now();
    const actions = planPod({
      pod,
      containers,
      backoff: (name, info) => this.crash.remaining(`${uid}/${name}`, info, now),
      livenessFailed: (name, id) => this.prober.livenessFailed(uid, name, id),
      started: (name, info) => this.startedOf(pod, name, info.id),
    });
    const waiting = this.waitingOf(uid);
    const netnsPath = pod.spec.hostNetwork ? undefined : (await this.ensureSandbox(pod)).netnsPath;
    // Volumes are refreshed on every pass so ConfigMap/Secret updates reach running containers;
    // a failure holds back starts only, not kills or back-off.
    let paths: Map<string, string> | undefined;
    let volumeError: Error | undefined;
    try {
      paths = (await ensureVolumes(this.opts.dataDir, pod, this.configs)).paths;
    } catch (e) {
      volumeError = e as Error;
    }
    let killed = false;
    let touched = false;
    let etcMounts: Awaited<ReturnType<typeof ensurePodEtcFiles>> | undefined;
    for (const a of actions) {
      if (a.kind !== 'backoff') touched = true;
      if (a.kind === 'kill') {
        this.log.info({ uid, container: a.container, reason: a.reason }, 'stopping container');
        const why = a.reason === 'liveness probe failed' ? `Container ${a.container} failed liveness probe, will be restarted` : `Stopping container ${a.container}`;
        this.event(pod, 'Normal', 'Killing', why, a.container);
        killed = (await this.opts.runtime.stop(a.id, a.graceSeconds)) || killed;
      } else if (a.kind === 'remove') {
        await this.opts.runtime.remove(a.id);
      } else if (a.kind === 'backoff') {
        waiting.set(a.container, { reason: 'CrashLoopBackOff', message: a.message });
        this.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${a.container} in pod ${pod.metadata.name}_${pod.metadata.namespace ?? 'default'}(${uid})`, a.container);
        this.wakeAfter(uid, a.retryInMs);
      } else if (paths) {
        const deps = { runtime: this.opts.runtime, dataDir: this.opts.dataDir, configs: this.configs, pull: this.pull, now, podIP: this.podIP(pod), hostIP: this.opts.hostIP, allocatable: this.opts.allocatable };
        etcMounts ??= await ensurePodEtcFiles(this.opts.dataDir, pod, { podIP: this.podIP(pod), resolvConf: this.opts.resolvConf?.(pod) });
        const r = await startContainer(deps, { pod, container: a.container, restartCount: a.restartCount, netnsPath, volumePaths: paths, etcMounts });
        if (r.started) {
          for (const w of r.warnings ?? []) {
            this.log.warn({ uid, container: a.container.name, reason: w.reason }, w.message);
            this.event(pod, 'Warning', w.reason, w.message, a.container.name);
          }
          waiting.delete(a.container.name);
          this.event(pod, 'Normal', 'Started', `Started container ${a.container.name}`, a.container.name);
          if (a.restartCount >= 2) await this.pruneLogs(pod, a.container.name, a.restartCount);
          continue;
        }
        waiting.set(a.container.name, r.waiting);
        this.recordWaiting(pod, a.container, r.waiting);
        if (r.retryInMs !== undefined) this.wakeAfter(uid, r.retryInMs);
        if (r.error !== undefined) throw r.error;
      } else {
        waiting.set(a.container.name, { reason: 'ContainerCreating', message: `volumes not ready: ${volumeError?.message}` });
      }
    }
    // A killed container restarts on the next pass, through the crash back-off.
    if (killed) this.queue.add(uid);
    if (volumeError) throw volumeError;
    return touched;
  }

  private async teardown(uid: string, pod: Pod | undefined, containers: ContainerInfo[]): Promise<void> {
    const known = pod ?? this.gone.get(uid);
    this.prober.stopPod(uid);
    const actions = planTeardown(containers, graceSecondsOf(known));
    // Containers get their grace period side by side, not one after the other; sidecars
    // are stopped once the app containers they serve have gone.
    const sidecar = new Set(containers.filter(isSidecarAttempt).map((c) => c.id));
    const kills = actions.filter((a) => a.kind === 'kill');
    try {
      for (const group of [kills.filter((a) => !sidecar.has(a.id)), kills.filter((a) => sidecar.has(a.id))]) {
        await Promise.all(group.map((a) => {
          if (known) this.event(known, 'Normal', 'Killing', `Stopping container ${a.container}`, a.container);
          return this.opts.runtime.stop(a.id, a.graceSeconds);
        }));
      }
    } finally {
      if (actions.length > 0) this.markChanged(uid);
    }
    if (pod && containers.length > 0) await this.report(pod, await this.listPod(uid), true);
    try {
      for (const a of actions) if (a.kind === 'remove') await this.opts.runtime.remove(a.id);
    } finally {
      if (actions.length > 0) this.markChanged(uid);
    }
    if (!known?.spec.hostNetwork) await this.opts.network.deletePod(uid);
    await removeVolumes(this.opts.dataDir, uid);
    await removePodLogs(this.opts.dataDir, uid);
    this.crash.forget(`${uid}/`);
    this.pull.forget(`${uid}/`);
    this.waiting.delete(uid);
    this.sandboxes.delete(uid);
    this.gone.delete(uid);
    if (pod && !this.finalized.has(uid)) {
      await this.opts.onFinalized?.(pod);
      this.finalized.add(uid);
    }
    if (!pod) {
      this.reported.delete(uid);
      this.finalized.delete(uid);
    }
  }

  private async report(pod: Pod, containers: ContainerInfo[], terminating: boolean): Promise<void> {
    const uid = pod.metadata.uid!;
    const previous = this.reported.get(uid) ?? pod.status;
    const specs = new Map([...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => [c.name, c]));
    const status = computePodStatus({
      pod,
      containers,
      waiting: this.waitingOf(uid),
      ready: (name, info) => !terminating && this.prober.ready(uid, specs.get(name)!, info.id),
      started: (name, info) => this.startedOf(pod, name, info.id),
      podIP: this.podIP(pod),
      hostIP: this.opts.hostIP,
      now: this.opts.clock.now(),
      previous,
      terminating,
    });
    if (sameStatus(previous, status)) return;
    await this.opts.reportStatus(pod, status);
    this.reported.set(uid, status);
  }

  private startedOf(pod: Pod, name: string, id: string): boolean {
    const spec = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === name);
    return !spec || this.prober.started(pod.metadata.uid!, spec, id);
  }

  private async ensureSandbox(pod: Pod): Promise<PodSandbox> {
    const uid = pod.metadata.uid!;
    const sandbox = await this.opts.network.ensurePod(uid, pod.metadata.name, pod.metadata.namespace ?? DEFAULT_NAMESPACE, { portMappings: portMappingsOf(pod) });
    this.sandboxes.set(uid, sandbox);
    return sandbox;
  }

  private podIP(pod: Pod): string | undefined {
    return pod.spec.hostNetwork ? this.opts.hostIP : this.sandboxes.get(pod.metadata.uid!)?.ip;
  }

  /** The queue keeps the earliest of several wake-ups per pod. */
  private wakeAfter(uid: string, ms: number): void {
    this.queue.addAfter(uid, ms);
  }

  private waitingOf(uid: string): Map<string, WaitingReason> {
    let w = this.waiting.get(uid);
    if (!w) this.waiting.set(uid, (w = new Map()));
    return w;
  }

  private async listPod(uid: string): Promise<ContainerInfo[]> {
    return (await this.listRuntime()).containers.filter((c) => c.labels[LABEL_POD_UID] === uid);
  }

  /** Every list goes through here so the newest one is kept; a list that started earlier never replaces a later one. */
  private async listRuntime(): Promise<{ seq: number; containers: ContainerInfo[] }> {
    const seq = ++this.seq;
    const containers = await this.opts.runtime.list();
    if (!this.known || seq > this.known.seq) {
      this.known = { seq, containers };
      // A change older than the kept list no longer decides anything.
      for (const [uid, at] of this.changedAt) if (at < seq) this.changedAt.delete(uid);
    }
    return { seq, containers };
  }

  /**
   * The kubelet's events for a container that could not start: "Failed" with the
   * error for a bad config (a missing ConfigMap or Secret, runAsNonRoot) or a
   * create or pull failure, "BackOff" while an image pull waits. The event buffer
   * folds the repeats of one into a count.
   */
  private recordWaiting(pod: Pod, c: Container, w: WaitingReason): void {
    if (w.reason === 'CreateContainerConfigError' || w.reason === 'CreateContainerError') {
      this.event(pod, 'Warning', 'Failed', `Error: ${w.message}`, c.name);
    } else if (w.reason === 'ErrImagePull') {
      this.event(pod, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${w.message}`, c.name);
    } else if (w.reason === 'ImagePullBackOff') {
      this.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`, c.name);
    }
  }

  /** Events are best effort: a recorder that throws must not fail a reconcile. */
  private event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, container?: string): void {
    try {
      this.opts.recordEvent?.(pod, type, reason, message, container);
    } catch (err) {
      this.log.debug({ err: String(err), reason }, 'could not record an event');
    }
  }

  /** Called once this reconciler started, stopped or removed (or may have) containers of the pod. */
  private markChanged(uid: string): void {
    this.lastChange = ++this.seq;
    this.changedAt.set(uid, this.lastChange);
  }

  /**
   * The pod's containers. With a process probe, the last list serves when it started after
   * this reconciler last changed the pod and every running container's process is still
   * there: the periodic pass then reconciles every pod from one list, not one list per pod.
   */
  private async observe(uid: string): Promise<ContainerInfo[]> {
    const known = this.known;
    if (this.opts.processProbe && known && known.seq > (this.changedAt.get(uid) ?? 0)) {
      const mine = known.containers.filter((c) => c.labels[LABEL_POD_UID] === uid);
      if (this.processesAlive(mine)) return mine;
    }
    return this.listPod(uid);
  }

  /**
   * Whether the quick resync must list the runtime: always without a probe; else when there
   * is no list yet, when this reconciler changed containers since the last resync list, or
   * when a running container's process is gone. The full pass lists regardless, so a change
   * made behind the agent's back (or a reused pid) is seen within fullResyncMs.
   */
  private needsList(): boolean {
    if (!this.opts.processProbe || !this.known || this.lastChange > this.lastResyncList) return true;
    return !this.processesAlive(this.known.containers);
  }

  /** Stopped containers stay stopped; a running one needs a live pid; created or unknown ones may change anytime. */
  private processesAlive(containers: readonly ContainerInfo[]): boolean {
    const probe = this.opts.processProbe;
    if (!probe) return false;
    return containers.every((c) => c.state === 'stopped' || (c.state === 'running' && c.pid !== undefined && probe.alive(c.pid)));
  }

  /** One container's log that cannot be rotated (labels that make no log path, a file gone) must not stop the others'. */
  private async rotateLog(c: ContainerInfo): Promise<void> {
    try {
      await rotateIfNeeded(this.logPathOf(c), this.opts.logRotation);
    } catch (err) {
      this.log.debug({ container: c.id, err: String(err) }, 'container log not rotated');
    }
  }

  /** Old attempts' logs are only disk use: a failure to prune them must not hold back the pod. */
  private async pruneLogs(pod: Pod, container: string, latest: number): Promise<void> {
    const ref = { namespace: pod.metadata.namespace ?? DEFAULT_NAMESPACE, name: pod.metadata.name, uid: pod.metadata.uid ?? '' };
    try {
      await pruneAttemptLogs(this.opts.dataDir, ref, container, latest);
    } catch (err) {
      this.log.debug({ uid: ref.uid, container, err: String(err) }, 'old container logs not pruned');
    }
  }

  private logPathOf(c: ContainerInfo): string {
    const l = c.labels;
    const ref = { namespace: l[LABEL_POD_NAMESPACE] ?? DEFAULT_NAMESPACE, name: l[LABEL_POD_NAME] ?? '', uid: l[LABEL_POD_UID] ?? '' };
    return containerLogPath(this.opts.dataDir, ref, l[LABEL_CONTAINER_NAME] ?? '', Number(l[LABEL_RESTART_COUNT] ?? 0));
  }

  private async reconcileCounted(uid: string): Promise<void> {
    this.inFlight++;
    try {
      await this.reconcile(uid);
    } finally {
      this.inFlight--;
    }
  }

  /**
   * The periodic pass over every pod, spread over half the interval: queued at once, each
   * pod's reconcile (listing the runtime when there is no process probe, several ctr
   * processes) comes in one burst, and a newly assigned pod waits behind all of them
   * (seconds on a board with a few dozen pods).
   */
  private spreadFullResync(): void {
    const uids = [...this.desired.keys()];
    const spreadMs = (this.opts.fullResyncMs ?? 60_000) / 2;
    uids.forEach((uid, i) => this.queue.addAfter(uid, Math.floor((i * spreadMs) / uids.length)));
    this.resyncQuietly(true, false);
  }

  private resyncQuietly(full: boolean, queueDesired = true): void {
    this.inFlight++;
    this.resync(full, queueDesired)
      .catch((err: unknown) => this.log.warn({ err: String(err) }, 'pod resync failed'))
      .finally(() => this.inFlight--);
  }
}
