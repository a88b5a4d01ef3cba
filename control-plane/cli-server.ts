// `bramble server`: starts the control plane and keeps it running until
// SIGTERM or SIGINT, then closes it cleanly (the store flushes) and exits 0.
import { realClock } from '../proto/clock.js';
import type { CommandContext } from './cli-context.js';
import { UsageError } from './cli-errors.js';
import { defaultDataDir } from './client-config.js';

export const DEFAULT_GRPC_ADDR = '0.0.0.0:7443';
export const DEFAULT_HTTP_ADDR = '0.0.0.0:7080';
/** A close that hangs (a stuck stream) must not keep a stopped service alive. */
const CLOSE_DEADLINE_MS = 10_000;

export interface ServerInput {
  dataDir?: string;
  grpcAddr: string;
  httpAddr: string;
  tlsSans: string[];
}

/** Checks a HOST:PORT flag before anything binds, so the error names the flag. */
export function checkHostPort(flag: string, value: string): void {
  const m = value.match(/^(\[[^\]]+\]|[^:\s]*):(\d+)$/);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new UsageError(`${flag} must be HOST:PORT with a port from 0 to 65535: current value is "${value}"`);
  }
}

export async function runServer(_ctx: CommandContext, input: ServerInput): Promise<number> {
  checkHostPort('--grpc-addr', input.grpcAddr);
  checkHostPort('--http-addr', input.httpAddr);
  // Loaded here, not at the top: every other command would pay for the server's modules at start-up.
  const [{ startServer }, { createLogger }] = await Promise.all([import('./server.js'), import('../proto/log.js')]);
  const logger = createLogger('bramble-server');
  const running = await startServer({
    dataDir: input.dataDir ?? defaultDataDir(),
    grpcAddr: input.grpcAddr,
    httpAddr: input.httpAddr,
    tlsSans: input.tlsSans,
    logger,
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping the server');
    realClock.setTimeout(() => {
      logger.error({ ms: CLOSE_DEADLINE_MS }, 'the server did not close in time; exiting anyway');
      process.exit(1);
    }, CLOSE_DEADLINE_MS);
    running.close().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, 'closing the server failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return 0;
}
