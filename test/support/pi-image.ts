// A small stand-in for a Raspberry Pi OS (bookworm) image, built without
// mounting anything: a DOS partition table (sfdisk), a FAT32 boot partition
// (mkfs.vfat on a file, then mcopy) holding cmdline.txt and config.txt, and an
// ext4 root partition (mke2fs on a file), each copied into place with dd.
// The layout is the real image's (boot first, type c; root second, type 83),
// only smaller: 64 MiB is about the smallest FAT32 mkfs.vfat makes.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execRunner, type RunResult } from '../../agent/exec-runner.js';

const SECTOR = 512;
const BOOT_START = 2048; // sectors, as in Raspberry Pi OS images
const BOOT_SECTORS = (64 * 1024 * 1024) / SECTOR;
const ROOT_START = BOOT_START + BOOT_SECTORS;
const ROOT_SECTORS = (16 * 1024 * 1024) / SECTOR;

/** mtools refuses a FAT whose geometry is not a floppy's without this. */
export const MTOOLS_ENV = { MTOOLS_SKIP_CHECK: '1' };

export interface PiImage {
  path: string;
  /** Byte offset of the FAT boot partition, for `mtype -i IMAGE@@OFFSET`. */
  bootOffset: number;
  rootOffset: number;
  rootLength: number;
  /** cmdline.txt as written, one line with its newline. */
  cmdline: string;
  config: string;
}

export async function must(file: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<RunResult> {
  const r = await execRunner.run(file, args, { timeoutMs: 60_000, ...opts });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} must succeed: exited with ${r.exitCode}: ${r.stderr.trim()}`);
  return r;
}

/** Builds `<dir>/<name>` with the layout of a Raspberry Pi OS image. */
export async function buildPiImage(dir: string, name: string): Promise<PiImage> {
  const image = path.join(dir, name);
  const partuuid = '6c586e13';
  const cmdline = `console=serial0,115200 console=tty1 root=PARTUUID=${partuuid}-02 rootfstype=ext4 fsck.repair=yes rootwait quiet\n`;
  const config = '# For more options and information see\n# http://rptl.io/configtxt\ndtparam=audio=on\ncamera_auto_detect=1\ndisplay_auto_detect=1\nauto_initramfs=1\ndtoverlay=vc4-kms-v3d\nmax_framebuffers=2\narm_64bit=1\n\n[all]\n';
  const boot = `${image}.boot`;
  const root = `${image}.root`;
  const cmdlineFile = `${image}.cmdline.txt`;
  const configFile = `${image}.config.txt`;
  try {
    await must('truncate', ['-s', String((ROOT_START + ROOT_SECTORS) * SECTOR), image]);
    await must('sfdisk', ['-q', image], { input: [
      'label: dos',
      `label-id: 0x${partuuid}`,
      `start=${BOOT_START}, size=${BOOT_SECTORS}, type=c`,
      `start=${ROOT_START}, size=${ROOT_SECTORS}, type=83`,
      '',
    ].join('\n') });
    await must('mkfs.vfat', ['-F', '32', '-n', 'BOOTFS', '-C', boot, String((BOOT_SECTORS * SECTOR) / 1024)]);
    await writeFile(cmdlineFile, cmdline);
    await writeFile(configFile, config);
    await must('mcopy', ['-i', boot, cmdlineFile, '::/cmdline.txt'], { env: MTOOLS_ENV });
    await must('mcopy', ['-i', boot, configFile, '::/config.txt'], { env: MTOOLS_ENV });
    await must('mke2fs', ['-q', '-t', 'ext4', '-L', 'rootfs', '-F', root, `${(ROOT_SECTORS * SECTOR) / 1024}k`]);
    await must('dd', [`if=${boot}`, `of=${image}`, `bs=${SECTOR}`, `seek=${BOOT_START}`, 'conv=notrunc,sparse', 'status=none']);
    await must('dd', [`if=${root}`, `of=${image}`, `bs=${SECTOR}`, `seek=${ROOT_START}`, 'conv=notrunc,sparse', 'status=none']);
  } finally {
    await Promise.all([boot, root, cmdlineFile, configFile].map((f) => rm(f, { force: true })));
  }
  return { path: image, bootOffset: BOOT_START * SECTOR, rootOffset: ROOT_START * SECTOR, rootLength: ROOT_SECTORS * SECTOR, cmdline, config };
}

/** A file of the boot partition as mtype reads it, or undefined when it is absent. */
export async function readBootFile(target: string, bootOffset: number, name: string): Promise<string | undefined> {
  const r = await execRunner.run('mtype', ['-i', `${target}@@${bootOffset}`, `::/${name}`], { timeoutMs: 30_000, env: MTOOLS_ENV });
  if (r.exitCode !== 0) {
    if (/not found/.test(r.stderr)) return undefined;
    throw new Error(`mtype ${name} must read ${target}: exited with ${r.exitCode}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/** SHA-256 of a byte range of a file (the whole file without start and length). */
export async function sha256Of(file: string, start = 0, length?: number): Promise<string> {
  const hash = createHash('sha256');
  const stream = createReadStream(file, length === undefined ? { start } : { start, end: start + length - 1 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
