// A process's resident memory, CPU time and bytes written to storage, from
// /proc/PID/{status,stat,io}, and its idle figures between two samples: RSS,
// CPU percent of one core, and disk bytes written per minute (write_bytes counts
// what reached the block layer, which is what wears an SD card).
import type { BoardFiles } from './board-files.js';

export interface ProcessSample {
  rssBytes: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  writeBytes: number;
}

export interface IdleFigures {
  rssBytes: number;
  /** Of one core: 100 is one core busy all the window. */
  cpuPercent: number;
  writeBytesPerMinute: number;
}

/** "VmRSS:   41236 kB" in /proc/PID/status. */
export function parseRssBytes(status: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** utime + stime of /proc/PID/stat (fields 14 and 15; the command in field 2 may hold spaces and parentheses). */
export function parseCpuTicks(stat: string): number | undefined {
  const rest = stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/);
  // rest[0] is field 3 (state).
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isInteger(utime) && Number.isInteger(stime) && stat.includes(')') ? utime + stime : undefined;
}

/** "write_bytes: 4096" in /proc/PID/io. */
export function parseWriteBytes(io: string): number | undefined {
  const m = /^write_bytes:\s+(\d+)$/m.exec(io);
  return m ? Number(m[1]) : undefined;
}

export async function sampleProcess(files: BoardFiles, pid: number): Promise<ProcessSample> {
  const [status, stat, io] = await Promise.all(['status', 'stat', 'io'].map((f) => files.read(`/proc/${pid}/${f}`)));
  const rssBytes = parseRssBytes(status ?? '');
  const cpuTicks = parseCpuTicks(stat ?? '');
  const writeBytes = parseWriteBytes(io ?? '');
  if (rssBytes === undefined || cpuTicks === undefined || writeBytes === undefined) {
    // io is readable by the process's owner and root only.
    throw new Error(`process ${pid} must have readable /proc/${pid}/status, stat and io: ${status === undefined ? 'it has exited' : 'io needs root'}`);
  }
  return { rssBytes, cpuTicks, writeBytes };
}

export function idleFigures(before: ProcessSample, after: ProcessSample, elapsedMs: number, ticksPerSecond: number): IdleFigures {
  if (!(elapsedMs > 0)) throw new Error(`the sampling window must be longer than 0 ms: current value is ${elapsedMs}`);
  return {
    rssBytes: after.rssBytes,
    cpuPercent: ((after.cpuTicks - before.cpuTicks) / ticksPerSecond / (elapsedMs / 1000)) * 100,
    writeBytesPerMinute: ((after.writeBytes - before.writeBytes) * 60_000) / elapsedMs,
  };
}
