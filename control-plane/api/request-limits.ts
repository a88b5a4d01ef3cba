// The string fields of every request message (kind, namespace, name, selector,
// node name, labels, descriptions, ...) are names, not documents: each may be at
// most LIMITS.maxFieldLength characters. The few fields that carry documents
// (object JSON, pod status JSON, a CSR) have their own, larger limits where
// they are parsed. Checked before a handler runs, so no handler sees a 4 MB name.
import { BrambleError } from '../../proto/util/errors.js';
import { LIMITS } from '../../proto/limits.js';

/**
 * Fields checked by their own parser: parseUntrustedJson (and Apply's object count), checkPodStatus, the CSR
 * reader, the Members service's forwarded command (parseCommand) and key file (bounded by its handler).
 */
const DOCUMENT_FIELDS = new Set(['objects', 'status', 'csrPem', 'commandJson', 'keyFile', 'caPem', 'caKeyPem']);
/** A CSR for a P-256 or RSA-4096 key is a few KB of PEM. */
const MAX_CSR_LENGTH = 16 * 1024;

function fail(method: string, path: string, message: string): never {
  throw new BrambleError('LIMIT_EXCEEDED', `${method}: ${path} ${message}`, [{ path, message }]);
}

/** Throws LIMIT_EXCEEDED naming the first string field over its limit. Proto messages are shallow, so recursion is bounded. */
export function checkRequestFields(method: string, request: unknown, path = ''): void {
  if (request === null || typeof request !== 'object' || Buffer.isBuffer(request)) return;
  const entries = Array.isArray(request) ? request.map((v, i) => [`[${i}]`, v] as const) : Object.entries(request);
  for (const [key, value] of entries) {
    const at = Array.isArray(request) ? `${path}${key}` : path === '' ? key : `${path}.${key}`;
    if (DOCUMENT_FIELDS.has(key)) {
      // Parsed, and bounded, where they are used; only a CSR has no parser that bounds it first.
      if (key === 'csrPem' && typeof value === 'string' && value.length > MAX_CSR_LENGTH) {
        fail(method, at, `must be no more than ${MAX_CSR_LENGTH} characters: current length is ${value.length}`);
      }
      continue;
    }
    if (typeof value === 'string') {
      if (value.length > LIMITS.maxFieldLength) fail(method, at, `must be no more than ${LIMITS.maxFieldLength} characters: current length is ${value.length}`);
    } else if (typeof value === 'object' && value !== null) {
      // Map keys (labels) are names too.
      if (!Array.isArray(value) && !Buffer.isBuffer(value)) {
        for (const k of Object.keys(value)) {
          if (k.length > LIMITS.maxFieldLength) fail(method, at, `keys must be no more than ${LIMITS.maxFieldLength} characters: current length is ${k.length}`);
        }
      }
      checkRequestFields(method, value, at);
    }
  }
}
