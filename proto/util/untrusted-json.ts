// JSON from the other side of a boundary (object envelopes, pod status, what a
// board or a user sends). V8's JSON.parse copes with any nesting, but everything
// after it recurses (structuredClone, JSON.stringify, the schemas), so depth,
// string length and number range are checked here, once, without recursion.
import { BrambleError, LONE_SURROGATE, type FieldProblem } from './errors.js';
import { LIMITS, formatBytes } from '../limits.js';

export interface JsonLimits {
  maxBytes: number;
  maxDepth: number;
  maxStringLength: number;
}

export const OBJECT_LIMITS: JsonLimits = {
  maxBytes: LIMITS.maxObjectBytes,
  maxDepth: LIMITS.maxDepth,
  maxStringLength: LIMITS.maxStringLength,
};

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (IDENT.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key.length > 40 ? `${key.slice(0, 37)}...` : key)}]`;
}

/** A rule a JSON value breaks; `limit` tells a size or depth limit from a value that cannot round-trip. */
export interface ShapeProblem extends FieldProblem {
  limit: boolean;
}

/** The first rule a parsed JSON value breaks, with the path to it; undefined when it is fine. */
export function jsonShapeProblem(value: unknown, limits: JsonLimits = OBJECT_LIMITS): ShapeProblem | undefined {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: '', depth: 0 }];
  const checkString = (s: string, path: string, what: string): ShapeProblem | undefined => {
    if (s.length > limits.maxStringLength) {
      return { path, message: `${what} must be no more than ${limits.maxStringLength} characters: current length is ${s.length}`, limit: true };
    }
    if (LONE_SURROGATE.test(s)) {
      const unit = s.charCodeAt(s.search(LONE_SURROGATE)).toString(16);
      return { path, message: `${what} must be valid Unicode: it holds a lone surrogate (\\u${unit})`, limit: false };
    }
    return undefined;
  };
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const p = checkString(v, path, 'a string');
      if (p) return p;
    } else if (typeof v === 'number') {
      // JSON.parse turns 1e400 into Infinity, which JSON.stringify would write back as null.
      if (!Number.isFinite(v)) return { path, message: 'must be a finite number: current value is too large', limit: false };
    } else if (typeof v === 'object' && v !== null) {
      if (depth >= limits.maxDepth) {
        return { path, message: `must be nested no deeper than ${limits.maxDepth} levels of objects and lists`, limit: true };
      }
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: childPath(path, i), depth: depth + 1 });
      } else {
        const entries = Object.entries(v as Record<string, unknown>);
        for (let i = entries.length - 1; i >= 0; i--) {
          const [k, child] = entries[i]!;
          const p = checkString(k, childPath(path, k), 'a key');
          if (p) return p;
          stack.push({ v: child, path: childPath(path, k), depth: depth + 1 });
        }
      }
    }
  }
  return undefined;
}

export interface ParseOptions {
  /** Names the value in messages: "document 3", "status of pod default/web". */
  what: string;
  /** Set for documents of a multi-document request, so the CLI can name the file. */
  document?: number;
  limits?: JsonLimits;
}

/**
 * Parses JSON text received from a peer, within the limits: LIMIT_EXCEEDED for
 * size and depth, INVALID_ARGUMENT for text that is not JSON or holds values
 * that cannot round-trip (lone surrogates, infinite numbers). Never throws
 * anything but a BrambleError.
 */
export function parseUntrustedJson(text: string, opts: ParseOptions): unknown {
  const limits = opts.limits ?? OBJECT_LIMITS;
  const where = (p: FieldProblem): FieldProblem => (opts.document === undefined ? p : { ...p, document: opts.document });
  // Characters bound bytes from below by at most 3x; measure exactly only when it could matter.
  const bytes = text.length * 3 > limits.maxBytes ? Buffer.byteLength(text, 'utf8') : 0;
  if (bytes > limits.maxBytes) {
    const message = `${opts.what} must be no more than ${formatBytes(limits.maxBytes)} of JSON: current size is ${formatBytes(bytes)}`;
    throw new BrambleError('LIMIT_EXCEEDED', message, [where({ path: '', message: `must be no more than ${formatBytes(limits.maxBytes)} of JSON` })]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new BrambleError('INVALID_ARGUMENT', `${opts.what} is not valid JSON: ${reason}`, [where({ path: '', message: `is not valid JSON: ${reason}` })]);
  }
  const problem = jsonShapeProblem(value, limits);
  if (problem) {
    const clean: FieldProblem = { path: problem.path, message: problem.message };
    throw new BrambleError(problem.limit ? 'LIMIT_EXCEEDED' : 'INVALID_ARGUMENT', `${opts.what}: ${problem.path === '' ? '' : `${problem.path}: `}${problem.message}`, [where(clean)]);
  }
  return value;
}
