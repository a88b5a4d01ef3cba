// Which board this is, from the device tree's model string (the firmware puts
// "Raspberry Pi 4 Model B Rev 1.4" there; x86 machines have no device tree), and
// whether the machine's figures fit the board: pure, so the rules are unit tested.

/** Where Linux exposes the device tree's model; the second is the same file on older kernels' layout. */
export const MODEL_PATHS = ['/proc/device-tree/model', '/sys/firmware/devicetree/base/model'];

export interface BoardModel {
  /** The model string, trailing NUL and blanks removed. */
  model: string;
  isRaspberryPi: boolean;
  /** "4" for a Raspberry Pi 4, "5" for a 5, "Zero 2 W", "3 Model B+" keeps "3"; undefined when not a Pi. */
  series?: string;
}

/** The device tree's model file's text as a BoardModel; undefined when it holds nothing. */
export function parseBoardModel(text: string | undefined): BoardModel | undefined {
  const model = (text ?? '').replace(/\0+$/, '').trim();
  if (model === '') return undefined;
  const m = /^Raspberry Pi (Compute Module \d+|Zero(?: 2)?(?: W)?|\d+|Model [AB]\+?)/.exec(model);
  if (!m) return { model, isRaspberryPi: false };
  return { model, isRaspberryPi: true, series: m[1]! };
}

/** Kubernetes' architecture names of the machines `uname -m` names (a container of the board's architecture prints it). */
export function kubernetesArchOfMachine(machine: string): string | undefined {
  const m = machine.trim();
  if (m === 'aarch64' || m === 'arm64') return 'arm64';
  if (/^armv[678]/.test(m)) return 'arm';
  if (m === 'x86_64') return 'amd64';
  return undefined;
}
