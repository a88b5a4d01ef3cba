// BoardFiles from a map of path → text, for unit tests.
import type { BoardFiles } from './board-files.js';

export function fakeBoardFiles(files: Record<string, string>): BoardFiles {
  return { read: async (path) => files[path] };
}
