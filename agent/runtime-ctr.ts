// ContainerRuntime on containerd, driven through its CLI (`ctr`), so a board
// needs nothing but Debian's containerd package. Each container's stdout and
// stderr go straight from the shim to a file (--log-uri file://), so no ctr
// process stays alive per container.
import { randomBytes } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { BrambleError } from '../proto/util/errors.js';
import { realClock, type Clock } from '../proto/util/clock.js';
import { execRunner, CommandTimeoutError, type CommandRunner, type RunResult } from './exec-runner.js';
import { GrpcSpecEditor, type SpecEditor } from './containerd-specs.js';
import { isInsecureRegistry, normalizeImageRef, platformOfArch } from './image-ref.js';
import { securityArgs, withUser } from './pod-security.js';
import type {
  ContainerInfo, ContainerRunState, ContainerRuntime, ContainerSpec, ContainerStats, ExecResult, ImagePullPolicy, Mount,
} from './runtime.js';

export interface CtrRuntimeOptions {
  /** containerd's gRPC socket. */
  address: string;
  namespace?: string;
  runner?: CommandRunner;
  clock?: Clock;
  /** Registries ("host:port") pulled from over plain HTTP. */
  insecureRegistries?: string[];
  /**
   * Default true: a spec's shimGroup becomes the io.containerd.runc.v2.group annotation. False runs
   * every container under a shim of its own (`bramble agent --shim-group container`).
   */
  groupShims?: boolean;
  /** Node `process.arch` of this board; decides the platform pulled. */
  arch?: string;
  ctrPath?: string;
  /** How often stop() looks at the task while waiting. */
  pollIntervalMs?: number;
  commandTimeoutMs?: number;
  pullTimeoutMs?: number;
  /** Sets the process user of a created container (ctr has no flag for it); default: containerd's gRPC API at `address`. */
  specEditor?: SpecEditor;
}

/** Labels the runtime keeps on a container for itself; never reported as Pod labels. */
export const RUNTIME_LABEL_PREFIX = 'bramble.runtime/';
export const LABEL_EXIT_CODE = `${RUNTIME_LABEL_PREFIX}exit-code`;
export const LABEL_FINISHED_AT = `${RUNTIME_LABEL_PREFIX}finished-at`;
const STOP_SIGNAL_LABEL = 'io.containerd.image.config.stop-signal';

interface ContainerRecord {
  image: string;
  labels: Record<string, string>;
  createdAt?: number;
}

interface TaskRow {
  pid: number;
  status: string;
}

/**
 * The runc v2 shim serves every container whose spec carries the same value of this
 * annotation (it names the shim's socket), so a Pod's containers cost one shim, not one each.
 */
export const SHIM_GROUP_ANNOTATION = 'io.containerd.runc.v2.group';

export class CtrRuntime implements ContainerRuntime {
  private readonly namespace: string;
  private readonly runner: CommandRunner;
  private readonly clock: Clock;
  private readonly insecure: string[];
  private readonly platform: string;
  private readonly ctrPath: string;
  private readonly pollMs: number;
  private readonly timeoutMs: number;
  private readonly pullTimeoutMs: number;
  /** Container records only change through this class, so `ctr containers info` is read once per container. */
  private readonly records = new Map<string, ContainerRecord>();
  private readonly specs: SpecEditor;

  constructor(private readonly opts: CtrRuntimeOptions) {
    this.namespace = opts.namespace ?? 'bramble';
    this.runner = opts.runner ?? execRunner;
    this.clock = opts.clock ?? realClock;
    this.insecure = opts.insecureRegistries ?? [];
    this.platform = platformOfArch(opts.arch ?? process.arch);
    this.ctrPath = opts.ctrPath ?? 'ctr';
    this.pollMs = opts.pollIntervalMs ?? 100;
    this.timeoutMs = opts.commandTimeoutMs ?? 60_000;
    this.pullTimeoutMs = opts.pullTimeoutMs ?? 15 * 60_000;
    this.specs = opts.specEditor ?? new GrpcSpecEditor(opts.address, this.namespace, this.clock);
  }

  private ctr(args: string[], timeoutMs = this.timeoutMs): Promise<RunResult> {
    return this.runner.run(this.ctrPath, ['--address', this.opts.address, '--namespace', this.namespace, ...args], { timeoutMs });
  }

  private async ctrOk(what: string, args: string[], timeoutMs?: number): Promise<RunResult> {
    const r = await this.ctr(args, timeoutMs);
    if (r.exitCode !== 0) throw failure(what, r);
    return r;
  }

  async version(): Promise<string> {
    const r = await this.ctrOk('ctr version', ['version']);
    const server = r.stdout.split(/^Server:/m)[1] ?? '';
    const v = /Version:\s*(\S+)/.exec(server)?.[1];
    if (!v) throw new BrambleError('RUNTIME_FAILED', `ctr version must report a server version: output was ${JSON.stringify(r.stdout)}`);
    return `containerd ${v}`;
  }

  async hasImage(image: string): Promise<boolean> {
    const name = normalizeImageRef(image);
    const r = await this.ctrOk('listing images', ['images', 'ls', '-q', `name==${name}`]);
    return lines(r.stdout).includes(name);
  }

  async ensureImage(image: string, policy: ImagePullPolicy): Promise<{ pulled: boolean }> {
    const name = normalizeImageRef(image);
    if (policy !== 'Always' && (await this.hasImage(name))) return { pulled: false };
    if (policy === 'Never') {
      throw new BrambleError('RUNTIME_FAILED', `image "${image}" is not present and imagePullPolicy is Never`);
    }
    const args = ['images', 'pull', '--platform', this.platform];
    if (isInsecureRegistry(name, this.insecure)) args.push('--plain-http');
    await this.ctrOk(`pulling image "${image}"`, [...args, name], this.pullTimeoutMs);
    return { pulled: true };
  }

  async importImage(tarPath: string): Promise<string[]> {
    const before = new Set(lines((await this.ctrOk('listing images', ['images', 'ls', '-q'])).stdout));
    const r = await this.ctrOk(`importing ${tarPath}`, ['images', 'import', '--platform', this.platform, tarPath], this.pullTimeoutMs);
    const names = new Set<string>();
    for (const m of r.stdout.matchAll(/^unpacking (\S+) \(sha256:[0-9a-f]+\)/gm)) if (m[1]) names.add(m[1]);
    if (names.size === 0) {
      for (const n of lines((await this.ctrOk('listing images', ['images', 'ls', '-q'])).stdout)) if (!before.has(n)) names.add(n);
    }
    return [...names].sort();
  }

  async start(spec: ContainerSpec): Promise<ContainerInfo> {
    const image = normalizeImageRef(spec.image);
    if (!isAbsolute(spec.logPath)) throw invalid(`logPath must be absolute: current value is "${spec.logPath}"`);
    const argv = await this.processArgs(spec, image);
    const args: string[] = [];
    for (const [k, v] of Object.entries(spec.labels)) args.push('--label', `${k}=${v}`);
    for (const [k, v] of Object.entries(spec.env)) args.push('--env', `${k}=${v}`);
    if (spec.workingDir) args.push('--cwd', spec.workingDir);
    for (const m of spec.mounts) {
      for (const p of [m.source, m.destination]) {
        // ctr splits --mount on commas; such a path would silently become another option.
        if (p.includes(',') || !isAbsolute(p)) throw invalid(`mount paths must be absolute and contain no comma: current value is "${p}"`);
      }
      args.push('--mount', `type=bind,src=${m.source},dst=${m.destination},options=rbind:${m.readOnly ? 'ro' : 'rw'}`);
    }
    if (spec.memoryLimitBytes !== undefined) args.push('--memory-limit', String(Math.floor(spec.memoryLimitBytes)));
    if (spec.cpuLimitMillis !== undefined) {
      // CFS quota in µs per 100 ms period: 1000m = one full CPU; the kernel's floor is 1 ms.
      args.push('--cpu-quota', String(Math.max(1000, Math.round(spec.cpuLimitMillis * 100))), '--cpu-period', '100000');
    }
    if (spec.netnsPath) args.push('--with-ns', `network:${spec.netnsPath}`);
    else if (spec.hostNetwork) args.push('--net-host');
    if (spec.security) args.push(...securityArgs(spec.security));
    if (spec.shimGroup !== undefined && this.opts.groupShims !== false) args.push('--annotation', `${SHIM_GROUP_ANNOTATION}=${spec.shimGroup}`);
    const logUri = ['--log-uri', `file://${spec.logPath}`];
    const user = spec.security?.user;
    // ctr 1.6 has flags for neither the process user nor the UTS hostname: either means
    // create, edit the stored spec, then start (see containerd-specs.ts).
    const hostname = spec.hostNetwork ? undefined : spec.hostname;
    // --net-host adds the board's /etc/hosts and resolv.conf after our mounts, so they would win.
    const shadowed = spec.hostNetwork ? spec.mounts.filter((m) => HOST_NET_FILES.includes(m.destination)) : [];
    const edit = user !== undefined || hostname !== undefined || shadowed.length > 0;
    // Unlike `ctr run`, `ctr containers create` moves flags found among its arguments to the front
    // (`sh -c` would lose its -c to --config). `--` stops that, but only when the flag before it
    // cannot take it as its value: hence the default runtime spelled with "=" just before.
    args.push(...(edit ? ['--runtime=io.containerd.runc.v2', '--'] : []), image, spec.id, ...argv);
    const r = edit ? await this.ctr(['containers', 'create', ...args]) : await this.ctr(['run', '-d', ...logUri, ...args]);
    if (r.exitCode !== 0) {
      if (/already exists/.test(r.stderr)) {
        const existing = (await this.list()).find((c) => c.id === spec.id);
        if (existing && (!edit || existing.state !== 'created')) return existing;
        // Created by an earlier attempt that died before its start: the planner removes and restarts it.
        if (existing) throw failure(`starting container "${spec.id}"`, r);
      }
      // ctr leaves the container record behind when the task cannot start.
      await this.remove(spec.id).catch(() => false);
      throw failure(`starting container "${spec.id}"`, r);
    }
    if (edit) {
      try {
        await this.specs.editSpec(spec.id, (s) => withOwnMounts(withHostname(user ? withUser(s, user) : s, hostname), shadowed));
      } catch (e) {
        await this.remove(spec.id).catch(() => false);
        throw e;
      }
      const started = await this.ctr(['tasks', 'start', '-d', ...logUri, spec.id]);
      if (started.exitCode !== 0) {
        await this.remove(spec.id).catch(() => false);
        throw failure(`starting container "${spec.id}"`, started);
      }
    }
    this.records.delete(spec.id);
    // `ctr run -d` returns once the task has started. Its pid would cost a `tasks ls` per
    // start; the pod reconciler lists the runtime right after starting anyway, and gets it there.
    return {
      id: spec.id,
      image,
      labels: { ...spec.labels },
      state: 'running',
      startedAt: this.clock.now(),
    };
  }

  async imageUser(image: string): Promise<string> {
    return (await this.imageConfig(normalizeImageRef(image))).User ?? '';
  }

  /** Kubernetes semantics: command replaces ENTRYPOINT, args replace CMD; with neither, ctr uses the image's own. */
  private async processArgs(spec: ContainerSpec, image: string): Promise<string[]> {
    const command = spec.command?.length ? spec.command : undefined;
    const args = spec.args?.length ? spec.args : undefined;
    if (command) return [...command, ...(args ?? [])];
    if (!args) return [];
    const config = await this.imageConfig(image);
    const argv = [...(config.Entrypoint ?? []), ...args];
    return argv;
  }

  private async imageConfig(image: string): Promise<{ Entrypoint?: string[]; Cmd?: string[]; User?: string }> {
    const r = await this.ctrOk('listing images', ['images', 'ls', `name==${image}`]);
    const row = lines(r.stdout).map((l) => l.split(/\s+/)).find((cols) => cols[0] === image);
    if (!row || !row[1] || !row[2]) {
      throw new BrambleError('RUNTIME_FAILED', `image "${image}" must be present to read its entrypoint: it is not`);
    }
    let mediaType = row[1];
    let digest = row[2];
    for (let depth = 0; depth < 3; depth++) {
      const doc = await this.contentJson(digest);
      if (/index|manifest\.list/.test(mediaType) || Array.isArray(doc.manifests)) {
        const manifests = (doc.manifests ?? []) as { digest: string; mediaType: string; platform?: { os?: string; architecture?: string; variant?: string } }[];
        const [os, arch, variant] = this.platform.split('/');
        const pick = manifests.find((m) => m.platform?.os === os && m.platform.architecture === arch && (!variant || !m.platform.variant || m.platform.variant === variant))
          ?? manifests.find((m) => m.platform?.os === os && m.platform.architecture === arch);
        if (!pick) throw new BrambleError('RUNTIME_FAILED', `image "${image}" must have a manifest for ${this.platform}: it has none`);
        mediaType = pick.mediaType;
        digest = pick.digest;
        continue;
      }
      const configDigest = (doc.config as { digest?: string } | undefined)?.digest;
      if (!configDigest) break;
      const config = await this.contentJson(configDigest);
      return (config.config ?? {}) as { Entrypoint?: string[]; Cmd?: string[]; User?: string };
    }
    throw new BrambleError('RUNTIME_FAILED', `image "${image}" must have a readable config: its manifest ${digest} has none`);
  }

  private async contentJson(digest: string): Promise<Record<string, unknown>> {
    const r = await this.ctrOk(`reading content ${digest}`, ['content', 'get', digest]);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  private async tasks(): Promise<Map<string, TaskRow>> {
    const r = await this.ctrOk('listing tasks', ['tasks', 'ls']);
    const out = new Map<string, TaskRow>();
    for (const l of lines(r.stdout).slice(1)) {
      const [id, pid, status] = l.split(/\s+/);
      if (id && status) out.set(id, { pid: Number(pid), status });
    }
    return out;
  }

  private async record(id: string): Promise<ContainerRecord | undefined> {
    const cached = this.records.get(id);
    if (cached) return cached;
    const r = await this.ctr(['containers', 'info', id]);
    if (r.exitCode !== 0) {
      if (isNotFound(r)) return undefined;
      throw failure(`reading container "${id}"`, r);
    }
    const info = JSON.parse(r.stdout) as { Image?: string; Labels?: Record<string, string> | null; CreatedAt?: string };
    const created = info.CreatedAt ? Date.parse(info.CreatedAt) : NaN;
    const rec: ContainerRecord = { image: info.Image ?? '', labels: info.Labels ?? {}, createdAt: Number.isNaN(created) ? undefined : created };
    this.records.set(id, rec);
    return rec;
  }

  async list(): Promise<ContainerInfo[]> {
    const ids = lines((await this.ctrOk('listing containers', ['containers', 'ls', '-q'])).stdout);
    const tasks = await this.tasks();
    const out: ContainerInfo[] = [];
    for (const id of ids) {
      let rec = await this.record(id);
      if (!rec) continue;
      const task = tasks.get(id);
      if (task?.status === 'STOPPED') {
        rec = await this.reap(id);
        if (!rec) continue;
      }
      const exit = rec.labels[LABEL_EXIT_CODE];
      const finished = rec.labels[LABEL_FINISHED_AT];
      const live = task && task.status !== 'STOPPED';
      out.push({
        id,
        image: rec.image,
        labels: podLabels(rec.labels),
        state: live ? taskState(task.status) : exit !== undefined ? 'stopped' : 'created',
        pid: live && task.pid > 0 ? task.pid : undefined,
        exitCode: !live && exit !== undefined ? Number(exit) : undefined,
        startedAt: rec.createdAt,
        finishedAt: !live && finished !== undefined ? Number(finished) : undefined,
      });
    }
    return out;
  }

  /**
   * ctr reports a task's exit status only when the task is deleted, so a stopped task
   * is deleted here and its exit code kept as a container label: it then survives
   * agent and containerd restarts.
   */
  private async reap(id: string): Promise<ContainerRecord | undefined> {
    const r = await this.ctr(['tasks', 'delete', id]);
    if (r.exitCode !== 0) {
      if (!isNotFound(r)) throw failure(`deleting the stopped task of "${id}"`, r);
      // Reaped or removed meanwhile by someone else: read what is there now.
      this.records.delete(id);
      return this.record(id);
    }
    const code = /exit with non-zero exit code (\d+)/.exec(r.stderr)?.[1] ?? '0';
    const finishedAt = String(this.clock.now());
    const labelled = await this.ctr(['containers', 'label', id, `${LABEL_EXIT_CODE}=${code}`, `${LABEL_FINISHED_AT}=${finishedAt}`]);
    if (labelled.exitCode !== 0) {
      if (!isNotFound(labelled)) throw failure(`labelling container "${id}"`, labelled);
      // Removed between the task delete and the label (a delete racing the reap): it is gone.
      this.records.delete(id);
      return undefined;
    }
    const rec = await this.record(id);
    if (rec) rec.labels = { ...rec.labels, [LABEL_EXIT_CODE]: code, [LABEL_FINISHED_AT]: finishedAt };
    return rec;
  }

  async stop(id: string, graceSeconds: number): Promise<boolean> {
    const task = (await this.tasks()).get(id);
    if (!task || task.status === 'STOPPED') return false;
    const rec = await this.record(id);
    const signal = rec?.labels[STOP_SIGNAL_LABEL] || 'SIGTERM';
    if (graceSeconds > 0) {
      await this.kill(id, signal, false);
      if (await this.waitStopped(id, graceSeconds * 1000)) return true;
    }
    await this.kill(id, 'SIGKILL', true);
    if (await this.waitStopped(id, 10_000)) return true;
    throw new BrambleError('RUNTIME_FAILED', `container "${id}" must stop after SIGKILL: it was still running 10 s later`);
  }

  private async kill(id: string, signal: string, all: boolean): Promise<void> {
    const r = await this.ctr(['tasks', 'kill', ...(all ? ['--all'] : []), '--signal', signal, id]);
    // The task may exit between our look and the signal; that is the outcome we want.
    if (r.exitCode !== 0 && !isNotFound(r) && !/process already finished/.test(r.stderr)) throw failure(`signalling "${id}"`, r);
  }

  private async waitStopped(id: string, ms: number): Promise<boolean> {
    const deadline = this.clock.now() + ms;
    for (;;) {
      const t = (await this.tasks()).get(id);
      if (!t || t.status === 'STOPPED') return true;
      if (this.clock.now() >= deadline) return false;
      await this.clock.sleep(Math.min(this.pollMs, Math.max(1, deadline - this.clock.now())));
    }
  }

  async remove(id: string): Promise<boolean> {
    const t = await this.ctr(['tasks', 'delete', '--force', id]);
    if (t.exitCode !== 0 && !isNotFound(t)) throw failure(`deleting the task of "${id}"`, t);
    // Deleting the container also removes its snapshot (ctr keeps it only with --keep-snapshot).
    const c = await this.ctr(['containers', 'delete', id]);
    this.records.delete(id);
    if (c.exitCode !== 0) {
      if (isNotFound(c)) return t.exitCode === 0;
      throw failure(`deleting container "${id}"`, c);
    }
    return true;
  }

  async exec(id: string, argv: string[], timeoutMs: number): Promise<ExecResult> {
    if (argv.length === 0) throw invalid('exec must be given a command: current value is []');
    const execId = `exec-${this.clock.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    let r: RunResult;
    try {
      r = await this.ctr(['tasks', 'exec', '--exec-id', execId, id, ...argv], timeoutMs);
    } catch (e) {
      if (e instanceof CommandTimeoutError) {
        // Killing ctr leaves the process running in the container.
        await this.ctr(['tasks', 'kill', '--exec-id', execId, '--signal', 'SIGKILL', id]).catch(() => undefined);
        throw new BrambleError('RUNTIME_FAILED', `exec in container "${id}" must finish within ${timeoutMs} ms: ${JSON.stringify(argv)} did not`);
      }
      throw e;
    }
    if (r.exitCode !== 0 && /^ctr: /m.test(r.stderr)) {
      // ctr's own errors share the exit code with the process's; tell them apart by its message.
      if (/executable file not found|no such file or directory/.test(r.stderr)) return { exitCode: 127, stdout: r.stdout, stderr: r.stderr };
      if (/not found|no running task|OCI runtime exec failed/.test(r.stderr)) throw failure(`exec in container "${id}"`, r);
    }
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  async stats(id: string): Promise<ContainerStats | undefined> {
    const r = await this.ctr(['tasks', 'metrics', '--format', 'json', id]);
    if (r.exitCode !== 0) {
      if (isNotFound(r)) return undefined;
      throw failure(`reading metrics of "${id}"`, r);
    }
    return parseMetrics(r.stdout);
  }
}

/** `ctr tasks metrics --format json` prints cgroup v1 or v2 statistics, depending on the board. */
export function parseMetrics(json: string): ContainerStats {
  const m = JSON.parse(json) as {
    cpu?: { usage?: { total?: number }; usage_usec?: number };
    memory?: { usage?: number | { usage?: number }; total_inactive_file?: number; inactive_file?: number };
  };
  const cpuNanos = m.cpu?.usage?.total ?? (m.cpu?.usage_usec ?? 0) * 1000;
  const usage = typeof m.memory?.usage === 'number' ? m.memory.usage : (m.memory?.usage?.usage ?? 0);
  // The working set, as Kubernetes reports it: page cache that can be dropped is not counted.
  const inactive = m.memory?.total_inactive_file ?? m.memory?.inactive_file ?? 0;
  return { cpuNanos, memoryBytes: Math.max(0, usage - inactive) };
}

/** The files ctr's --net-host bind-mounts from the board. */
const HOST_NET_FILES = ['/etc/hosts', '/etc/resolv.conf'];

/** Drops the other mounts on the destinations of `ours` (ctr's --net-host ones), keeping ours. */
export function withOwnMounts(spec: Record<string, unknown>, ours: readonly Mount[]): Record<string, unknown> {
  if (ours.length === 0 || !Array.isArray(spec.mounts)) return spec;
  const mine = new Map(ours.map((m) => [m.destination, m.source]));
  const mounts = (spec.mounts as { destination?: string; source?: string }[]).filter((m) => {
    const source = m.destination === undefined ? undefined : mine.get(m.destination);
    return source === undefined || m.source === source;
  });
  return { ...spec, mounts };
}

/** The OCI spec's hostname, set in the container's own UTS namespace (ctr's default spec has one). */
export function withHostname(spec: Record<string, unknown>, hostname: string | undefined): Record<string, unknown> {
  return hostname === undefined ? spec : { ...spec, hostname };
}

function taskState(status: string): ContainerRunState {
  switch (status) {
    case 'RUNNING': return 'running';
    case 'CREATED': return 'created';
    case 'STOPPED': return 'stopped';
    default: return 'unknown';
  }
}

function podLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith(RUNTIME_LABEL_PREFIX) && !k.startsWith('io.containerd.')));
}

function lines(s: string): string[] {
  return s.split('\n').map((l) => l.trim()).filter(Boolean);
}

function isNotFound(r: RunResult): boolean {
  return /not found/.test(r.stderr);
}

function failure(what: string, r: RunResult): BrambleError {
  const detail = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? r.stdout.trim();
  return new BrambleError('RUNTIME_FAILED', `${what} must succeed: ctr exited with ${r.exitCode}: ${detail}`);
}

function invalid(message: string): BrambleError {
  return new BrambleError('INVALID_ARGUMENT', message);
}
