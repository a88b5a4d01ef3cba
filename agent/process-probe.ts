// Whether a process still exists, without spawning anything: the pod reconciler
// checks the pids of running containers between runtime lists, since each list
// costs `ctr` processes (far dearer on a Pi than a signal-0 syscall). The agent
// runs as root in the host PID namespace, where containerd reports task pids.

export interface ProcessProbe {
  /** False when no process has this pid (or the pid is not a usable one). */
  alive(pid: number): boolean;
}

/** kill(pid, 0): ESRCH means gone; EPERM means it exists but is not ours to signal. */
export const realProcessProbe: ProcessProbe = {
  alive(pid) {
    // kill(0, …) and negative pids address process groups, never one process.
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
};

/** For unit tests: every pid is alive until `exited(pid)`; records each pid asked about. */
export class FakeProcessProbe implements ProcessProbe {
  readonly asked: number[] = [];
  private readonly dead = new Set<number>();

  constructor(private readonly isAlive?: (pid: number) => boolean) {}

  exited(pid: number): void {
    this.dead.add(pid);
  }

  alive(pid: number): boolean {
    this.asked.push(pid);
    if (this.dead.has(pid)) return false;
    return this.isAlive ? this.isAlive(pid) : true;
  }
}
