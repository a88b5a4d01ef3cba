// Image references as users write them ("busybox", "nginx:1.25", "ghcr.io/x/y")
// are turned into the fully qualified names containerd stores, following the
// Docker rules, so that "busybox" and "docker.io/library/busybox:latest" are one image.
import { BrambleError } from '../proto/util/errors.js';

const DEFAULT_REGISTRY = 'docker.io';
const REFERENCE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export interface ImageRef {
  /** Registry host, with port when given, e.g. "docker.io" or "127.0.0.1:5000". */
  registry: string;
  /** Repository path inside the registry, e.g. "library/busybox". */
  repository: string;
  tag?: string;
  digest?: string;
  /** The fully qualified name, e.g. "docker.io/library/busybox:latest". */
  name: string;
}

export function parseImageRef(ref: string): ImageRef {
  const input = ref.trim();
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-f0-9]{32,}$/.test(digest)) throw invalid(ref, 'its digest must look like "sha256:<hex>"');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw invalid(ref, 'its tag must be 1-128 of [A-Za-z0-9_.-]');
  }
  if (!rest) throw invalid(ref, 'it must name a repository');
  const first = rest.split('/')[0] ?? '';
  const hasRegistry = rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  let registry = hasRegistry ? first : DEFAULT_REGISTRY;
  let repository = hasRegistry ? rest.slice(first.length + 1) : rest;
  if (registry === 'index.docker.io') registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;
  if (!REFERENCE.test(`${registry}/${repository}`.toLowerCase()) || /[A-Z]/.test(repository)) {
    throw invalid(ref, 'its repository must be lowercase letters, digits and separators');
  }
  if (!tag && !digest) tag = 'latest';
  const name = `${registry}/${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return { registry, repository, tag, digest, name };
}

/** "busybox" → "docker.io/library/busybox:latest". */
export function normalizeImageRef(ref: string): string {
  return parseImageRef(ref).name;
}

/** True when the image's registry was configured as insecure, so pulls use plain HTTP. */
export function isInsecureRegistry(ref: string, insecureRegistries: readonly string[]): boolean {
  const registry = parseImageRef(ref).registry;
  return insecureRegistries.some((r) => r.replace(/^https?:\/\//, '').replace(/\/+$/, '') === registry);
}

/** The OCI platform of a Node `process.arch`, as `ctr --platform` expects it. */
export function platformOfArch(arch: string = process.arch): string {
  switch (arch) {
    case 'arm64': return 'linux/arm64';
    case 'arm': return 'linux/arm';
    case 'x64': return 'linux/amd64';
    default:
      throw new BrambleError('RUNTIME_FAILED', `node architecture must be one of arm64, arm, x64: current value is ${arch}`);
  }
}

function invalid(ref: string, rule: string): BrambleError {
  return new BrambleError('INVALID_ARGUMENT', `image reference "${ref}" is invalid: ${rule}`);
}
