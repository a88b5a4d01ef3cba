// Builds a small OCI image archive from Debian's busybox-static, so end-to-end
// tests run real containers without network access to a public registry.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BUSYBOX_IMAGE_NAME = 'bramble.test/busybox:1';
const BUSYBOX_BINARY = '/bin/busybox';

const APPLETS = [
  'sh', 'ash', 'httpd', 'wget', 'sleep', 'cat', 'env', 'echo', 'nc', 'ls', 'ps', 'kill', 'grep', 'sed', 'awk',
  'head', 'tail', 'mkdir', 'rm', 'touch', 'true', 'false', 'id', 'hostname', 'date', 'seq', 'test', '[', 'printf',
  'ip', 'ping', 'nslookup', 'wc', 'sort', 'pwd', 'uname', 'trap', 'timeout', 'yes', 'dd', 'top', 'free', 'ifconfig',
  'rev',
];

/** Debian's busybox-static has no printenv applet; the Kubernetes examples use it. */
const PRINTENV = `#!/bin/sh
[ $# -eq 0 ] && exec env
rc=0
for n in "$@"; do
  if env | grep -q "^$n="; then env | sed -n "s/^$n=//p"; else rc=1; fi
done
exit $rc
`;

/** A file a stand-in image adds to busybox: a script standing in for the program an image would have. */
export interface StandInFile {
  /** Relative to /, e.g. "usr/bin/perl"; its folder must be bin/ or usr/bin/. */
  path: string;
  content: string;
}

export interface BusyboxImage {
  /** OCI image layout archive, importable with `ctr images import`. */
  tarPath: string;
  /** The name the archive carries, e.g. "bramble.test/busybox:1". */
  name: string;
  /** Platform written into the index, e.g. { os: 'linux', architecture: 'amd64' }. */
  platform: { os: string; architecture: string; variant?: string };
}

interface TarEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  data?: Buffer;
  linkname?: string;
}

/** A minimal ustar writer: enough for a layer and an image layout, with fixed timestamps so digests are stable. */
export function writeTar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const header = Buffer.alloc(512, 0);
    const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    if (Buffer.byteLength(e.name) > 100) throw new Error(`tar entry name must be at most 100 bytes: ${e.name}`);
    header.write(e.name, 0, 100, 'utf8');
    header.write(octal(e.mode, 8), 100);
    header.write(octal(0, 8), 108);
    header.write(octal(0, 8), 116);
    header.write(octal(data.length, 12), 124);
    header.write(octal(0, 12), 136);
    header.write('        ', 148);
    header.write(e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2', 156);
    if (e.linkname) header.write(e.linkname, 157, 100, 'utf8');
    header.write('ustar\u000000', 257);
    header.write('root', 265);
    header.write('root', 297);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(octal(sum, 7) + '\u0000', 148);
    blocks.push(header, data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) blocks.push(Buffer.alloc(pad, 0));
  }
  blocks.push(Buffer.alloc(1024, 0));
  return Buffer.concat(blocks);
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\u0000';
}

export function ociPlatform(arch: string = process.arch): BusyboxImage['platform'] {
  switch (arch) {
    case 'x64': return { os: 'linux', architecture: 'amd64' };
    case 'arm64': return { os: 'linux', architecture: 'arm64' };
    case 'arm': return { os: 'linux', architecture: 'arm', variant: 'v7' };
    default: return { os: 'linux', architecture: arch };
  }
}

function sha256(b: Buffer): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

let cached: Promise<BusyboxImage> | undefined;

/** Builds the archive once per process; later calls return the same file. */
export function buildBusyboxImage(): Promise<BusyboxImage> {
  cached ??= build(BUSYBOX_IMAGE_NAME, 'echo busybox image default command');
  return cached;
}

const standIns = new Map<string, Promise<BusyboxImage>>();

/**
 * The busybox image under another name with another default command: a
 * stand-in for an image no test can pull (the Kubernetes documentation's
 * `nginx:1.14.2`), so a manifest naming it runs unchanged. `name` is the full
 * name containerd keeps (docker.io/library/nginx:1.14.2).
 */
export function buildStandInImage(name: string, command: string, files: StandInFile[] = []): Promise<BusyboxImage> {
  let image = standIns.get(name);
  if (!image) standIns.set(name, (image = build(name, command, files)));
  return image;
}

async function build(name: string, command: string, files: StandInFile[] = []): Promise<BusyboxImage> {
  for (const f of files) {
    if (!/^(usr\/)?bin\/[A-Za-z0-9._-]+$/.test(f.path)) throw new Error(`a stand-in file must be in bin/ or usr/bin/: current path is "${f.path}"`);
  }
  const busybox = await readFile(BUSYBOX_BINARY);
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
  const group = 'root:x:0:\nnogroup:x:65534:\n';
  const layer = writeTar([
    { name: 'bin/', type: 'dir', mode: 0o755 },
    { name: 'bin/busybox', type: 'file', mode: 0o755, data: busybox },
    ...APPLETS.map((a): TarEntry => ({ name: `bin/${a}`, type: 'symlink', mode: 0o777, linkname: 'busybox' })),
    { name: 'bin/printenv', type: 'file', mode: 0o755, data: Buffer.from(PRINTENV) },
    ...(files.some((f) => f.path.startsWith('usr/')) ? [{ name: 'usr/', type: 'dir', mode: 0o755 } as TarEntry, { name: 'usr/bin/', type: 'dir', mode: 0o755 } as TarEntry] : []),
    ...files.map((f): TarEntry => ({ name: f.path, type: 'file', mode: 0o755, data: Buffer.from(f.content) })),
    { name: 'etc/', type: 'dir', mode: 0o755 },
    { name: 'etc/passwd', type: 'file', mode: 0o644, data: Buffer.from(passwd) },
    { name: 'etc/group', type: 'file', mode: 0o644, data: Buffer.from(group) },
    { name: 'root/', type: 'dir', mode: 0o700 },
    { name: 'tmp/', type: 'dir', mode: 0o1777 },
    { name: 'var/', type: 'dir', mode: 0o755 },
    { name: 'var/www/', type: 'dir', mode: 0o755 },
    { name: 'var/www/index.html', type: 'file', mode: 0o644, data: Buffer.from('hello from bramble busybox\n') },
  ]);
  const platform = ociPlatform();
  const layerDigest = sha256(layer);
  const config = Buffer.from(JSON.stringify({
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: [command],
      WorkingDir: '/',
    },
    rootfs: { type: 'layers', diff_ids: [layerDigest] },
    history: [{ created_by: 'bramble test/support/busybox-image.ts' }],
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
  }));
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256(manifest),
      size: manifest.length,
      platform,
      annotations: {
        // containerd takes the full name from its own annotation; the OCI one holds the tag only.
        'io.containerd.image.name': name,
        'org.opencontainers.image.ref.name': name.split(':').pop() ?? 'latest',
      },
    }],
  }));
  const blob = (b: Buffer): TarEntry => ({ name: `blobs/sha256/${sha256(b).slice('sha256:'.length)}`, type: 'file', mode: 0o644, data: b });
  const archive = writeTar([
    { name: 'oci-layout', type: 'file', mode: 0o644, data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', type: 'file', mode: 0o644, data: index },
    { name: 'blobs/', type: 'dir', mode: 0o755 },
    { name: 'blobs/sha256/', type: 'dir', mode: 0o755 },
    blob(config),
    blob(manifest),
    blob(layer),
  ]);
  const dir = await mkdtemp(join(tmpdir(), 'bramble-image-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const tarPath = join(dir, 'busybox-oci.tar');
  await writeFile(tarPath, archive);
  return { tarPath, name, platform };
}
