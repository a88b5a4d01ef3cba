// A Pod's volumes on the board, under <dataDir>/pods/<uid>/volumes/<name>.
// ConfigMap and Secret volumes are laid out as the kubelet's atomic writer does:
// the files live in a fresh "..<random>" directory, "..data" is a symlink to it
// swapped by rename, and each top-level name is a symlink through "..data".
// A running container bind-mounts the volume directory itself, so it sees an
// update whole and at once; renaming a new directory over the mounted one
// would leave the container on the old inode. Nothing is rewritten when the
// content is already there, to spare SD cards.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { BrambleError } from '../proto/util/errors.js';
import type { Container, KeyToPath, Pod, Volume } from '../proto/model.js';
import { DEFAULT_NAMESPACE } from '../proto/model.js';
import type { ConfigSource } from './pod-env.js';
import type { Mount } from './runtime.js';

export const CONFIGMAP_DEFAULT_MODE = 0o644;
export const SECRET_DEFAULT_MODE = 0o400;

export function podDir(dataDir: string, uid: string): string {
  return path.join(dataDir, 'pods', uid);
}

export function volumeDir(dataDir: string, uid: string, name: string): string {
  return path.join(podDir(dataDir, uid), 'volumes', name);
}

export interface VolumesResult {
  /** Host path of each volume, by volume name. */
  paths: Map<string, string>;
  /** Whether any file or directory was written. */
  changed: boolean;
}

interface FileContent {
  data: Buffer;
  mode: number;
}

export async function ensureVolumes(dataDir: string, pod: Pod, source: ConfigSource): Promise<VolumesResult> {
  const uid = pod.metadata.uid ?? '';
  const ns = pod.metadata.namespace ?? DEFAULT_NAMESPACE;
  const paths = new Map<string, string>();
  let changed = false;
  for (const v of pod.spec.volumes ?? []) {
    const dir = volumeDir(dataDir, uid, v.name);
    if (v.hostPath) {
      changed = (await ensureHostPath(v.hostPath.path, v.hostPath.type, v.name)) || changed;
      paths.set(v.name, v.hostPath.path);
    } else if (v.emptyDir) {
      if (!(await exists(dir))) {
        await fs.mkdir(dir, { recursive: true });
        // World-writable as in Kubernetes, so a non-root container can use it.
        await fs.chmod(dir, 0o777);
        changed = true;
      }
      paths.set(v.name, dir);
    } else if (v.configMap || v.secret) {
      const files = projectedFiles(v, ns, source);
      changed = (await writeAtomic(dir, files)) || changed;
      paths.set(v.name, dir);
    } else {
      throw new BrambleError('INVALID_ARGUMENT', `volume must be emptyDir, hostPath, configMap or secret: volume "${v.name}" is none of them`);
    }
  }
  return { paths, changed };
}

/** Removes the Pod's directory (volumes included; hostPath volumes are not under it). */
export async function removeVolumes(dataDir: string, uid: string): Promise<boolean> {
  const dir = podDir(dataDir, uid);
  if (!(await exists(dir))) return false;
  await fs.rm(dir, { recursive: true, force: true });
  return true;
}

/** Pod uids that have a directory under <dataDir>/pods. */
export async function listVolumePods(dataDir: string): Promise<string[]> {
  try {
    return await fs.readdir(path.join(dataDir, 'pods'));
  } catch {
    return [];
  }
}

export function mountsFor(container: Container, pod: Pod, paths: Map<string, string>): Mount[] {
  return (container.volumeMounts ?? []).map((vm) => {
    const source = paths.get(vm.name);
    const vol = (pod.spec.volumes ?? []).find((v) => v.name === vm.name);
    if (!source || !vol) {
      throw new BrambleError('INVALID_ARGUMENT', `volumeMount must name a volume of the pod: "${vm.name}" in container "${container.name}" does not`);
    }
    const projected = vol.configMap !== undefined || vol.secret !== undefined;
    return {
      source: vm.subPath ? path.join(source, safeRelative(vm.subPath, 'subPath')) : source,
      destination: vm.mountPath,
      readOnly: vm.readOnly ?? projected,
    };
  });
}

function projectedFiles(v: Volume, ns: string, source: ConfigSource): Map<string, FileContent> {
  const isSecret = v.secret !== undefined;
  const name = v.secret?.secretName ?? v.configMap!.name;
  const cfg = v.secret ?? v.configMap!;
  const data = isSecret ? source.secret(ns, name) : source.configMap(ns, name);
  const kind = isSecret ? 'secret' : 'configmap';
  const files = new Map<string, FileContent>();
  if (!data) {
    if (cfg.optional) return files;
    throw new BrambleError('NOT_FOUND', `${kind} "${name}" must exist in namespace "${ns}" for volume "${v.name}": it was not found`);
  }
  const defaultMode = cfg.defaultMode ?? (isSecret ? SECRET_DEFAULT_MODE : CONFIGMAP_DEFAULT_MODE);
  const items: KeyToPath[] = cfg.items ?? [...data.keys()].map((key) => ({ key, path: key }));
  for (const item of items) {
    const content = data.get(item.key);
    if (content === undefined) {
      if (cfg.optional) continue;
      throw new BrambleError('NOT_FOUND', `${kind} "${name}" must have key "${item.key}" for volume "${v.name}": it has not`);
    }
    files.set(safeRelative(item.path, 'items.path'), { data: content, mode: item.mode ?? defaultMode });
  }
  return files;
}

function safeRelative(p: string, field: string): string {
  const norm = path.posix.normalize(p);
  if (path.posix.isAbsolute(norm) || norm.startsWith('..') || norm === '.') {
    throw new BrambleError('INVALID_ARGUMENT', `${field} must be a relative path inside the volume not starting with "..": current value is "${p}"`);
  }
  return norm;
}

async function writeAtomic(dir: string, files: Map<string, FileContent>): Promise<boolean> {
  await fs.mkdir(dir, { recursive: true });
  const dataLink = path.join(dir, '..data');
  const current = await readTree(dataLink);
  if (current && sameFiles(current, files)) return false;

  const stamp = `..${randomBytes(6).toString('hex')}`;
  const fresh = path.join(dir, stamp);
  await fs.mkdir(fresh);
  for (const [rel, f] of files) {
    const p = path.join(fresh, rel);
    await fs.mkdir(path.dirname(p), { recursive: true });
    await fs.writeFile(p, f.data);
    await fs.chmod(p, f.mode);
  }
  await replaceSymlink(path.join(dir, '..data_tmp'), dataLink, stamp);

  const top = new Set([...files.keys()].map((rel) => rel.split('/')[0]!));
  for (const name of top) {
    const target = path.join('..data', name);
    if ((await fs.readlink(path.join(dir, name)).catch(() => undefined)) !== target) {
      await replaceSymlink(path.join(dir, `..${name}_tmp`), path.join(dir, name), target);
    }
  }
  for (const entry of await fs.readdir(dir)) {
    // Older "..<random>" dirs (the one just replaced, or leftovers of a crash) go too.
    const stale = entry.startsWith('..') ? entry !== '..data' && entry !== stamp : !top.has(entry);
    if (stale) await fs.rm(path.join(dir, entry), { recursive: true, force: true });
  }
  return true;
}

async function replaceSymlink(tmp: string, dest: string, target: string): Promise<void> {
  await fs.rm(tmp, { force: true });
  await fs.symlink(target, tmp);
  await fs.rename(tmp, dest);
}

async function readTree(root: string): Promise<Map<string, FileContent> | undefined> {
  const out = new Map<string, FileContent>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p, rel);
      else out.set(rel, { data: await fs.readFile(p), mode: (await fs.stat(p)).mode & 0o7777 });
    }
  };
  try {
    await walk(root, '');
  } catch {
    return undefined;
  }
  return out;
}

function sameFiles(a: Map<string, FileContent>, b: Map<string, FileContent>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, f] of b) {
    const o = a.get(k);
    if (!o || o.mode !== f.mode || !o.data.equals(f.data)) return false;
  }
  return true;
}

async function ensureHostPath(p: string, type: string | undefined, volume: string): Promise<boolean> {
  const st = await fs.stat(p).catch(() => undefined);
  switch (type) {
    case 'DirectoryOrCreate':
      if (st) return false;
      await fs.mkdir(p, { recursive: true, mode: 0o755 });
      return true;
    case 'FileOrCreate':
      if (st) return false;
      await fs.mkdir(path.dirname(p), { recursive: true });
      await fs.writeFile(p, '', { mode: 0o644 });
      return true;
    case 'Directory':
    case 'File':
      if (!st || st.isDirectory() !== (type === 'Directory')) {
        throw new BrambleError('NOT_FOUND', `hostPath of volume "${volume}" must be an existing ${type.toLowerCase()}: "${p}" is not`);
      }
      return false;
    default:
      return false;
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(() => true, () => false);
}
