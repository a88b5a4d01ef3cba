// pino JSON logs for every process. Secret values never reach a log line:
// known credential fields are redacted wherever they appear.
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = [
  'token', '*.token', 'csrPem', '*.csrPem', 'privateKey', '*.privateKey', 'key', '*.key',
  'data', '*.data', 'stringData', '*.stringData', 'secret', '*.secret',
];

export function createLogger(name: string, level = process.env.BRAMBLE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } });
}

/** A logger that drops everything: for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
