// The files the hardware checks read (device tree, thermal zone, cgroup and
// /proc entries), behind one interface: the real one reads the machine, the
// fake (board-files-fake.ts) serves a map, so every rule runs in unit tests.
import { readFile } from 'node:fs/promises';

export interface BoardFiles {
  /** The file's text, or undefined when it does not exist or cannot be read. */
  read(path: string): Promise<string | undefined>;
}

export const realBoardFiles: BoardFiles = {
  read: (path) => readFile(path, 'utf8').catch(() => undefined),
};
