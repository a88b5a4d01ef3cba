// A private image registry for pull tests: Debian's docker-registry on a free
// port, with the test busybox image pushed into it through a containerd.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execRunner, nsenterRunner, type CommandRunner } from '../../agent/exec-runner.js';
import { realClock } from '../../proto/util/clock.js';
import { buildBusyboxImage } from './busybox-image.js';
import { freePort } from './server-process.js';

export interface StartRegistryOptions {
  dir: string;
  /** A running containerd used to import and push the busybox image. */
  containerdAddress: string;
  /** Run the registry inside this network namespace (a board), listening on its 127.0.0.1. */
  netnsPath?: string;
  namespace?: string;
}

export interface RunningRegistry {
  /** "127.0.0.1:<port>": configure it as an insecure registry. */
  address: string;
  /** The busybox image as pushed, e.g. "127.0.0.1:5123/bramble/busybox:1". */
  busyboxImage: string;
  stop(): Promise<void>;
}

export async function startRegistry(opts: StartRegistryOptions): Promise<RunningRegistry> {
  const storage = join(opts.dir, 'registry-storage');
  await mkdir(storage, { recursive: true });
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const configPath = join(opts.dir, 'registry.yml');
  await writeFile(configPath, [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(storage)}`,
    'http:',
    `  addr: ${address}`,
    '',
  ].join('\n'));
  const logPath = join(opts.dir, 'registry.log');
  const logFd = openSync(logPath, 'a');
  const [file, args] = opts.netnsPath
    ? ['nsenter', [`--net=${opts.netnsPath}`, 'docker-registry', 'serve', configPath]]
    : ['docker-registry', ['serve', configPath]];
  const child = spawn(file, args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = realClock.setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      t.cancel();
    }
    await rm(storage, { recursive: true, force: true });
    await rm(configPath, { force: true });
    await rm(logPath, { force: true });
  };
  const runner: CommandRunner = opts.netnsPath ? nsenterRunner(opts.netnsPath) : execRunner;
  try {
    const deadline = realClock.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`docker-registry must stay up: it exited with ${child.exitCode}: ${await readFile(logPath, 'utf8').catch(() => '')}`);
      const r = await runner.run('/bin/busybox', ['wget', '-q', '-O', '-', `http://${address}/v2/`], { timeoutMs: 5000 }).catch(() => undefined);
      if (r?.exitCode === 0) break;
      if (realClock.now() > deadline) throw new Error(`docker-registry must answer on ${address} within 15 s`);
      await realClock.sleep(50);
    }
    const image = await buildBusyboxImage();
    const busyboxImage = `${address}/bramble/busybox:1`;
    const ctr = async (a: string[]) => {
      // ctr pushes from its own process, so it must run where the registry is reachable.
      const r = await runner.run('ctr', ['--address', opts.containerdAddress, '--namespace', opts.namespace ?? 'bramble', ...a], { timeoutMs: 60_000 });
      if (r.exitCode !== 0) throw new Error(`ctr ${a.join(' ')} must succeed: ${r.stderr.trim()}`);
    };
    await ctr(['images', 'import', image.tarPath]);
    await ctr(['images', 'tag', '--force', image.name, busyboxImage]);
    await ctr(['images', 'push', '--plain-http', busyboxImage, busyboxImage]);
    // The pushed name is only for the registry: tests then pull it as a fresh image.
    await ctr(['images', 'rm', busyboxImage]);
    return { address, busyboxImage, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
