// `bramble logs POD`: a container's log, streamed from its board through the
// control plane and written to stdout byte for byte. With -f it follows until
// the pod's log ends or the person presses Ctrl-C, which ends it cleanly (exit 0).
import { withCluster } from './cli-client.js';
import type { CommandContext } from './cli-context.js';
import { UsageError } from './cli-errors.js';
import { DEFAULT_NAMESPACE } from '../../proto/model.js';
import { resolveLogPod } from './cli-logs-target.js';

export interface LogsInput {
  pod: string;
  container?: string;
  follow: boolean;
  /** As typed after --tail; absent: the whole retained log. */
  tail?: string;
  namespace?: string;
  /** The container's attempt before the latest (after a restart). */
  previous?: boolean;
}

/** --tail N: the last N lines; -1 for everything retained. */
export function parseTail(text: string): number {
  const t = text.trim();
  if (!/^-?\d+$/.test(t) || Number(t) < -1 || !Number.isSafeInteger(Number(t))) {
    throw new UsageError(`--tail must be a whole number of lines, or -1 for all: current value is "${text}"`);
  }
  return Number(t);
}

/** Aborts when the person presses Ctrl-C or the process is asked to stop. */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', abort);
      process.off('SIGTERM', abort);
    },
  };
}

export async function runLogs(ctx: CommandContext, input: LogsInput, interrupt: AbortSignal): Promise<number> {
  if (input.pod === '') throw new UsageError('logs needs a pod name: use `bramble logs POD` or `bramble logs job/NAME`');
  const tailLines = input.tail === undefined ? -1 : parseTail(input.tail);
  const namespace = input.namespace ?? DEFAULT_NAMESPACE;
  await withCluster(ctx.connect, async (conn) => {
    const stream = conn.logs({
      namespace,
      pod: await resolveLogPod(conn, input.pod, namespace),
      container: input.container ?? '',
      follow: input.follow,
      tailLines,
      previous: input.previous ?? false,
    });
    const cancel = (): void => stream.cancel();
    if (interrupt.aborted) cancel();
    interrupt.addEventListener('abort', cancel, { once: true });
    try {
      for await (const chunk of stream) ctx.io.stdout.write(chunk);
    } finally {
      interrupt.removeEventListener('abort', cancel);
    }
  });
  return 0;
}
