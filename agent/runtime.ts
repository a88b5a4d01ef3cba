// The agent's side effects on containers go through this interface. The real
// implementation drives containerd's CLI (runtime-ctr.ts); unit tests use the
// fake (runtime-fake.ts). Every verb is idempotent.

export type ImagePullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export interface Mount {
  source: string;
  destination: string;
  readOnly: boolean;
}

export interface ContainerSpec {
  /** containerd container id; unique per attempt, e.g. "<pod-uid>-<container>-<restart>". */
  id: string;
  image: string;
  /** Kubernetes semantics: command replaces the image ENTRYPOINT, args replace its CMD. */
  command?: string[];
  args?: string[];
  env: Record<string, string>;
  workingDir?: string;
  mounts: Mount[];
  /** Enforced by the runtime (cgroup). */
  memoryLimitBytes?: number;
  cpuLimitMillis?: number;
  /** The Pod's network namespace, shared by its containers. */
  netnsPath?: string;
  /** hostNetwork Pods: the board's own network namespace (no netnsPath then). */
  hostNetwork?: boolean;
  /** Stored on the container so a restarted agent can adopt it. */
  labels: Record<string, string>;
  /** stdout and stderr are appended here. */
  logPath: string;
  /** The UTS hostname (the OCI spec's `hostname`); unset: the board's, as ctr leaves it. */
  hostname?: string;
  /** securityContext as the runtime must enforce it (pod-security.ts); unset: the runtime's own defaults. */
  security?: ContainerSecurity;
  /**
   * Containers with the same group share one containerd shim process (the runc v2 shim's
   * `io.containerd.runc.v2.group` annotation); unset: a shim of its own.
   */
  shimGroup?: string;
}

/** How an agent groups containers into containerd shims (`bramble agent --shim-group`). */
export type ShimGroupMode = 'pod' | 'container';

export interface ContainerSecurity {
  /** The process's user; unset fields keep what the image says. */
  user?: { uid?: number; gid?: number; supplementalGroups?: number[] };
  readOnlyRootFilesystem: boolean;
  privileged: boolean;
  /** Capability names with their CAP_ prefix, added before the drops are applied. */
  capAdd: string[];
  capDrop: string[];
  /** Kubernetes' default is true: no_new_privs is set only when this is false. */
  allowPrivilegeEscalation: boolean;
}

export type ContainerRunState = 'created' | 'running' | 'stopped' | 'unknown';

export interface ContainerInfo {
  id: string;
  image: string;
  labels: Record<string, string>;
  state: ContainerRunState;
  pid?: number;
  exitCode?: number;
  /** ms since epoch, when known. */
  startedAt?: number;
  finishedAt?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ContainerStats {
  /** Cumulative CPU time used. */
  cpuNanos: number;
  memoryBytes: number;
}

export interface ContainerRuntime {
  /** e.g. "containerd 1.6.20". */
  version(): Promise<string>;
  /** Makes the image present per policy; returns whether it pulled. */
  ensureImage(image: string, policy: ImagePullPolicy): Promise<{ pulled: boolean }>;
  hasImage(image: string): Promise<boolean>;
  /** The USER of a present image's config ("" when it sets none), for runAsNonRoot. */
  imageUser(image: string): Promise<string>;
  /** Imports an OCI/docker archive; returns the image names it held. */
  importImage(tarPath: string): Promise<string[]>;
  /** Creates the container and starts its task. */
  start(spec: ContainerSpec): Promise<ContainerInfo>;
  /** Every container in the runtime's namespace, with its task state. */
  list(): Promise<ContainerInfo[]>;
  /** SIGTERM, then SIGKILL after graceSeconds. Returns false when nothing was running. */
  stop(id: string, graceSeconds: number): Promise<boolean>;
  /** Removes task and container. Returns false when there was nothing to remove. */
  remove(id: string): Promise<boolean>;
  exec(id: string, argv: string[], timeoutMs: number): Promise<ExecResult>;
  stats(id: string): Promise<ContainerStats | undefined>;
}

/** Labels every Bramble container carries; adoption after an agent restart reads them. */
export const LABEL_POD_UID = 'bramble.pod.uid';
export const LABEL_POD_NAME = 'bramble.pod.name';
export const LABEL_POD_NAMESPACE = 'bramble.pod.namespace';
export const LABEL_CONTAINER_NAME = 'bramble.container.name';
export const LABEL_RESTART_COUNT = 'bramble.container.restarts';
