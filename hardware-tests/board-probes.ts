// The board's facts the hardware run checks, read through BoardFiles: its model,
// its CPU temperature and whether the memory cgroup controller is on. Each
// answer says what was read, so a failed check in the report explains itself.
import type { BoardFiles } from './board-files.js';
import { MODEL_PATHS, parseBoardModel, type BoardModel } from './board-model.js';

export const THERMAL_ZONE0 = '/sys/class/thermal/thermal_zone0/temp';
/** Raspberry Pi OS's fix for a memory controller that is off: `cmdline.txt` is one line. */
export const MEMORY_CGROUP_FIX = 'append "cgroup_enable=memory" to the line in /boot/firmware/cmdline.txt and reboot';

/** The first model file that holds a model, or undefined (no device tree: not an ARM board). */
export async function readBoardModel(files: BoardFiles): Promise<BoardModel | undefined> {
  for (const p of MODEL_PATHS) {
    const model = parseBoardModel(await files.read(p));
    if (model) return model;
  }
  return undefined;
}

export interface Temperature {
  /** Degrees Celsius, or null when the sensor is missing or says something unreadable. */
  celsius: number | null;
  detail: string;
}

/** thermal_zone0 gives millidegrees ("48312"); a Pi's SoC sensor is always there. */
export async function readTemperature(files: BoardFiles): Promise<Temperature> {
  const text = await files.read(THERMAL_ZONE0);
  if (text === undefined) return { celsius: null, detail: `${THERMAL_ZONE0} does not exist` };
  const milli = Number(text.trim());
  if (!/^-?\d+$/.test(text.trim()) || !Number.isFinite(milli)) return { celsius: null, detail: `${THERMAL_ZONE0} must hold millidegrees: it holds "${text.trim().slice(0, 40)}"` };
  const celsius = milli / 1000;
  // Outside what a working SoC reports: a broken sensor rather than a cold or burning board.
  if (celsius < -40 || celsius > 125) return { celsius: null, detail: `${THERMAL_ZONE0} must be within -40..125 °C: it says ${celsius} °C` };
  return { celsius, detail: `${celsius.toFixed(1)} °C from ${THERMAL_ZONE0}` };
}

export interface MemoryCgroup {
  version: 1 | 2 | null;
  enabled: boolean;
  detail: string;
}

/**
 * cgroup v2 lists its controllers in cgroup.controllers; recent kernels no longer
 * list memory in /proc/cgroups, so that file is read only on v1.
 */
export async function readMemoryCgroup(files: BoardFiles): Promise<MemoryCgroup> {
  const v2 = await files.read('/sys/fs/cgroup/cgroup.controllers');
  if (v2 !== undefined) {
    const enabled = v2.trim().split(/\s+/).includes('memory');
    return {
      version: 2, enabled,
      detail: enabled ? 'cgroup v2 with the memory controller' : `cgroup v2 without the memory controller (controllers: ${v2.trim() || 'none'}): ${MEMORY_CGROUP_FIX}`,
    };
  }
  const v1 = await files.read('/proc/cgroups');
  if (v1 === undefined) return { version: null, enabled: false, detail: 'neither /sys/fs/cgroup/cgroup.controllers nor /proc/cgroups exists' };
  // "#subsys_name hierarchy num_cgroups enabled"
  const line = v1.split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[0] === 'memory');
  const enabled = line?.[3] === '1';
  return { version: 1, enabled, detail: enabled ? 'cgroup v1 with the memory controller' : `cgroup v1 without the memory controller: ${MEMORY_CGROUP_FIX}` };
}
