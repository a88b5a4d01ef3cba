// Whether containerd's socket answers: used before the agent joins (a board that
// can run nothing must not appear as a node) and by `bramble check`.
import net from 'node:net';
import { realClock } from '../proto/util/clock.js';

const PROBE_TIMEOUT_MS = 3_000;

/** ctr takes a socket path; "unix://" in front is accepted as containerd's own configs write it. */
export function containerdSocketPath(address: string): string {
  return address.replace(/^unix:\/\//, '');
}

/** Connects to containerd's socket once: undefined when something answers, else why not (ENOENT, ECONNREFUSED, ...). */
export function probeContainerd(address: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path: containerdSocketPath(address) });
    const done = (reason: string | undefined): void => {
      socket.destroy();
      timer.cancel();
      resolve(reason);
    };
    const timer = realClock.setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(undefined));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}
