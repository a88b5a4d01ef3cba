// An in-memory ContainerRuntime for unit tests: containers live in a Map, exits
// and crashes are scripted per container name, exec answers are scripted per
// argv, and every call is recorded so tests can check what the agent asked for.
import { BrambleError } from '../proto/util/errors.js';
import { realClock, type Clock } from '../proto/util/clock.js';
import {
  LABEL_CONTAINER_NAME,
  type ContainerInfo,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerStats,
  type ExecResult,
  type ImagePullPolicy,
} from './runtime.js';

export interface FakeCall {
  method: string;
  args: unknown[];
  /** Clock time of the call. */
  at: number;
}

/** What a started container does by itself: exit with `exitCode` after `afterMs` (0 = at once). */
export interface StartScript {
  exitCode: number;
  afterMs?: number;
}

interface FakeContainer {
  spec: ContainerSpec;
  info: ContainerInfo;
}

export class FakeRuntime implements ContainerRuntime {
  readonly calls: FakeCall[] = [];
  readonly images = new Set<string>();
  /** The USER each image's config declares; unset images declare none (""). */
  readonly imageUsers = new Map<string, string>();
  private readonly containers = new Map<string, FakeContainer>();
  private readonly pullFailures = new Map<string, string>();
  private readonly startScripts = new Map<string, StartScript>();
  private readonly execResults = new Map<string, ExecResult | (() => ExecResult)>();
  /** Exit code a container reports after stop(): 143 is SIGTERM honoured. */
  stopExitCode = 143;
  private nextPid = 1000;

  constructor(private readonly clock: Clock = realClock) {}

  // ------------------------------------------------------------ scripting

  /** Every later start of a container with this name exits as scripted. */
  scriptStart(containerName: string, script: StartScript | undefined): void {
    if (script) this.startScripts.set(containerName, script);
    else this.startScripts.delete(containerName);
  }

  /** Pulls of this image fail with `message` until cleared with undefined. */
  failPull(image: string, message: string | undefined): void {
    if (message === undefined) this.pullFailures.delete(image);
    else this.pullFailures.set(image, message);
  }

  /** The answer to exec(argv); `containerName` narrows it to one container name. */
  setExec(argv: string[], result: ExecResult | (() => ExecResult), containerName?: string): void {
    this.execResults.set(execKey(argv, containerName), result);
  }

  /** Makes a running container exit now, as a crash or a normal end would. */
  exit(id: string, exitCode: number): void {
    const c = this.containers.get(id);
    if (!c || c.info.state !== 'running') throw new Error(`fake container ${id} is not running`);
    c.info = { ...c.info, state: 'stopped', exitCode, finishedAt: this.clock.now(), pid: undefined };
  }

  /** Puts a container in the runtime as if an earlier agent had started it. */
  seed(spec: ContainerSpec, info: Partial<ContainerInfo> = {}): void {
    this.containers.set(spec.id, {
      spec,
      info: { id: spec.id, image: spec.image, labels: { ...spec.labels }, state: 'running', startedAt: this.clock.now(), ...info },
    });
  }

  spec(id: string): ContainerSpec | undefined {
    return this.containers.get(id)?.spec;
  }

  callsOf(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  // ------------------------------------------------------ ContainerRuntime

  async version(): Promise<string> {
    this.record('version');
    return 'fake 1.0.0';
  }

  async ensureImage(image: string, policy: ImagePullPolicy): Promise<{ pulled: boolean }> {
    this.record('ensureImage', image, policy);
    const present = this.images.has(image);
    if (policy === 'Never') {
      if (!present) throw new BrambleError('RUNTIME_FAILED', `image must be present with imagePullPolicy Never: "${image}" is not`);
      return { pulled: false };
    }
    if (policy === 'IfNotPresent' && present) return { pulled: false };
    const failure = this.pullFailures.get(image);
    if (failure !== undefined) throw new BrambleError('RUNTIME_FAILED', `pulling image "${image}" failed: ${failure}`);
    this.images.add(image);
    return { pulled: true };
  }

  async hasImage(image: string): Promise<boolean> {
    this.record('hasImage', image);
    return this.images.has(image);
  }

  async imageUser(image: string): Promise<string> {
    this.record('imageUser', image);
    if (!this.images.has(image)) throw new BrambleError('RUNTIME_FAILED', `image must be present to read its user: "${image}" is not`);
    return this.imageUsers.get(image) ?? '';
  }

  async importImage(tarPath: string): Promise<string[]> {
    this.record('importImage', tarPath);
    return [];
  }

  async start(spec: ContainerSpec): Promise<ContainerInfo> {
    this.record('start', spec);
    const existing = this.containers.get(spec.id);
    if (existing) return { ...existing.info };
    if (!this.images.has(spec.image)) {
      throw new BrambleError('RUNTIME_FAILED', `image must be present to start a container: "${spec.image}" is not`);
    }
    const now = this.clock.now();
    const info: ContainerInfo = {
      id: spec.id, image: spec.image, labels: { ...spec.labels }, state: 'running', pid: this.nextPid++, startedAt: now,
    };
    this.containers.set(spec.id, { spec, info });
    const script = this.startScripts.get(spec.labels[LABEL_CONTAINER_NAME] ?? '');
    if (script && !script.afterMs) {
      info.state = 'stopped';
      info.exitCode = script.exitCode;
      info.finishedAt = now;
      info.pid = undefined;
    } else if (script) {
      this.clock.setTimeout(() => {
        if (this.containers.get(spec.id)?.info.state === 'running') this.exit(spec.id, script.exitCode);
      }, script.afterMs!);
    }
    return { ...info };
  }

  async list(): Promise<ContainerInfo[]> {
    this.record('list');
    return [...this.containers.values()].map((c) => ({ ...c.info, labels: { ...c.info.labels } }));
  }

  async stop(id: string, graceSeconds: number): Promise<boolean> {
    this.record('stop', id, graceSeconds);
    const c = this.containers.get(id);
    if (!c || c.info.state !== 'running') return false;
    c.info = { ...c.info, state: 'stopped', exitCode: this.stopExitCode, finishedAt: this.clock.now(), pid: undefined };
    return true;
  }

  async remove(id: string): Promise<boolean> {
    this.record('remove', id);
    return this.containers.delete(id);
  }

  async exec(id: string, argv: string[], timeoutMs: number): Promise<ExecResult> {
    this.record('exec', id, argv, timeoutMs);
    const c = this.containers.get(id);
    if (!c || c.info.state !== 'running') {
      throw new BrambleError('RUNTIME_FAILED', `container must be running to exec in it: ${id} is not`);
    }
    const name = c.info.labels[LABEL_CONTAINER_NAME];
    const r = this.execResults.get(execKey(argv, name)) ?? this.execResults.get(execKey(argv));
    if (r === undefined) return { exitCode: 127, stdout: '', stderr: `${argv[0] ?? ''}: not found\n` };
    return typeof r === 'function' ? r() : r;
  }

  async stats(id: string): Promise<ContainerStats | undefined> {
    this.record('stats', id);
    return this.containers.has(id) ? { cpuNanos: 0, memoryBytes: 1024 * 1024 } : undefined;
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args, at: this.clock.now() });
  }
}

function execKey(argv: string[], containerName?: string): string {
  return `${containerName ?? '*'}\0${argv.join('\0')}`;
}
