// What one request may ask of a control plane on a 1 GB board. Every limit is
// enforced at the boundary with a coded error that names it, and the CLI checks
// the same numbers before it sends anything. docs/limits.md explains each one.

export const LIMITS = {
  /** Largest gRPC message a server accepts (grpc-js refuses bigger ones before decoding). */
  maxRequestBytes: 4 * 1024 * 1024,
  /** Largest manifest file (or stdin) `bramble apply` reads. */
  maxManifestBytes: 4 * 1024 * 1024,
  /**
   * Most YAML tokens in one manifest: the yaml library spends a few microseconds
   * a token, so this keeps any manifest to about a second on a Pi (a long string is one token).
   */
  maxManifestTokens: 256 * 1024,
  /** Most objects in one apply: all of them are checked and written in one command. */
  maxObjectsPerApply: 500,
  /** Largest JSON of one object, as Kubernetes (etcd) allows about 1 MiB. */
  maxObjectBytes: 1024 * 1024,
  /** Deepest nesting of objects and lists inside one object (a Deployment needs about 12). */
  maxDepth: 32,
  /** Longest string anywhere in a request, in UTF-16 code units (ConfigMap values included). */
  maxStringLength: 512 * 1024,
  /** Longest name-like string field of a request (kind, namespace, name, selector, node). */
  maxFieldLength: 1024,
  /** Concurrent streams (watches, logs, assignments, tunnels, imports) one client may hold open. */
  maxStreamsPerClient: 32,
  /** Failed Join attempts one source address may make in a minute before it must wait. */
  maxFailedJoinsPerMinute: 10,
  /** Longest join token lifetime (100 years; 0 means never expires): later dates do not fit a timestamp. */
  maxTokenTtlSeconds: 100 * 365 * 24 * 3600,
  /** Field problems listed in one error; the rest are counted in a last line. */
  maxErrorProblems: 100,
  /** Most arguments of an exec'd command (argv, the program included). */
  maxExecArgs: 1024,
  /** Most characters of an exec'd command, all arguments together. */
  maxExecCommandLength: 64 * 1024,
  /** Largest stdin chunk of one Exec message (the CLI sends at most this much at a time). */
  maxExecChunkBytes: 64 * 1024,
  /** Concurrent execs on one node: each holds a ctr process (about 20 MB) on the board. */
  maxExecsPerNode: 8,
} as const;

export type LimitName = keyof typeof LIMITS;

/** "4 MiB", "512 KiB", "300 B": how limits are shown in messages. */
export function formatBytes(n: number): string {
  const unit = (size: number, name: string): string => `${Number.isInteger(n / size) ? n / size : (n / size).toFixed(1)} ${name}`;
  if (n >= 1024 * 1024) return unit(1024 * 1024, 'MiB');
  if (n >= 1024) return unit(1024, 'KiB');
  return `${n} B`;
}
