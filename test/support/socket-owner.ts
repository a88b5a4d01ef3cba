// Which local process opened a loopback TCP connection (Linux only): the socket
// whose local port is the connection's far end is found in /proc/net/tcp, then
// its inode among the open files of the candidate processes. A fault-injecting
// proxy uses it to refuse the traffic of one member only.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The inode of the IPv4 socket from `localPort` to `remotePort`, or undefined. */
function socketInode(localPort: number, remotePort: number): string | undefined {
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  const port = (addr: string | undefined): number => parseInt(addr?.split(':')[1] ?? '', 16);
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (port(f[1]) === localPort && port(f[2]) === remotePort) return f[9];
  }
  return undefined;
}

/** Of `pids`, the one holding the socket from `localPort` to `remotePort`. */
export function socketOwner(localPort: number, remotePort: number, pids: readonly number[]): number | undefined {
  const inode = socketInode(localPort, remotePort);
  if (inode === undefined || inode === '0') return undefined;
  const want = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === want) return pid;
      } catch {
        // The descriptor closed while we looked.
      }
    }
  }
  return undefined;
}
