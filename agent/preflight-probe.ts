// The real HostProbe: this machine's files, commands and file systems, as seen
// from the process's own network namespace (a board in a netns reads its own sysctls).
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import { probeContainerd } from './containerd-probe.js';
import { execRunner } from './exec-runner.js';
import type { HostProbe } from './preflight.js';

export const realHostProbe: HostProbe = {
  run: (file, args, opts) => execRunner.run(file, args, opts),
  async readFile(file) {
    try {
      return await fs.readFile(file, 'utf8');
    } catch {
      return undefined;
    }
  },
  async statfs(file) {
    try {
      const s = await fs.statfs(file);
      return { type: s.type, availableBytes: s.bavail * s.bsize };
    } catch {
      return undefined;
    }
  },
  async isExecutable(file) {
    try {
      await fs.access(file, constants.X_OK);
      return (await fs.stat(file)).isFile();
    } catch {
      return false;
    }
  },
  connect: (socketPath) => probeContainerd(socketPath),
};
