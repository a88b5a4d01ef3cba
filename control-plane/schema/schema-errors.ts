// Turns zod issues into FieldProblems that read like Kubernetes errors:
// a path such as `spec.template.spec.containers[0].image` and a message that
// names the rule and the current value. Messages are built here from the issue
// code rather than taken from zod, so every built-in issue reads the same way.
import { z } from 'zod';
import type { FieldProblem } from '../../proto/util/errors.js';

export type Path = readonly PropertyKey[];
type Issue = z.core.$ZodIssue;
type RefineCtx = z.core.$RefinementCtx<unknown>;

/**
 * An integer field. zod reports a string given for z.int() as "expected number",
 * so the rule is named here; messages we write start with "must".
 */
export const int = () =>
  z.int({ error: (iss) => (iss.code === 'invalid_type' && iss.input !== undefined ? 'must be an integer' : undefined) });

/** Options for refinements that must run even when the value failed its structural checks. */
export const ALWAYS = { when: () => true } as const;

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      if (IDENT.test(s)) out += out === '' ? s : `.${s}`;
      else out += `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

/** How a value is shown in a message: strings quoted and shortened, containers by their type. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** Appends the current value to a rule, unless the value is secret or unknown. */
export function withValue(rule: string, value: unknown, redacted = false): string {
  if (redacted || value === undefined) return rule;
  return `${rule}: current value is ${describeValue(value)}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean (true or false)',
  object: 'an object',
  record: 'an object',
  map: 'an object',
  array: 'a list',
  tuple: 'a list',
};

function typeName(expected: string): string {
  return TYPE_NAMES[expected] ?? `of type ${expected}`;
}

function unionRule(issue: Extract<Issue, { code: 'invalid_union' }>): string {
  const expected = new Set<string>();
  for (const branch of issue.errors) {
    for (const i of branch) {
      if (i.code !== 'invalid_type' || i.path.length !== 0) continue;
      expected.add(i.message.startsWith('must be ') ? i.message.slice('must be '.length) : typeName(i.expected));
    }
  }
  return expected.size > 0 ? `must be ${[...expected].join(' or ')}` : 'does not match any allowed form';
}

function rangeRule(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): string {
  const small = issue.code === 'too_small';
  const bound = Number(small ? issue.minimum : (issue as { maximum: number | bigint }).maximum);
  if (issue.origin === 'string') {
    if (small && bound === 1) return 'must not be empty';
    return small ? `must be at least ${bound} characters` : `must be no more than ${bound} characters`;
  }
  if (issue.origin === 'array' || issue.origin === 'set') {
    const items = bound === 1 ? 'item' : 'items';
    return small ? `must have at least ${bound} ${items}` : `must have no more than ${bound} ${items}`;
  }
  const inclusive = issue.inclusive !== false;
  if (small) return inclusive ? `must be greater than or equal to ${bound}` : `must be greater than ${bound}`;
  return inclusive ? `must be less than or equal to ${bound}` : `must be less than ${bound}`;
}

export interface ProblemOptions {
  /** Paths whose values must never appear in a message (Secret data). */
  redact?: (path: Path) => boolean;
  /** Prefix for every path (when a sub-schema was parsed on its own). */
  prefix?: Path;
  document?: number;
}

export function issuesToProblems(issues: readonly Issue[], opts: ProblemOptions = {}): FieldProblem[] {
  const out: FieldProblem[] = [];
  const prefix = opts.prefix ?? [];
  const push = (path: Path, message: string): void => {
    const p: FieldProblem = { path: formatPath([...prefix, ...path]), message };
    if (opts.document !== undefined) p.document = opts.document;
    out.push(p);
  };
  for (const issue of issues) {
    const redacted = opts.redact?.(issue.path) ?? false;
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) push([...issue.path, key], `unknown field ${JSON.stringify(key)}`);
        break;
      case 'invalid_type':
        if (issue.input === undefined) push(issue.path, 'required');
        else if (issue.message.startsWith('must ')) push(issue.path, withValue(issue.message, issue.input, redacted));
        else push(issue.path, withValue(`must be ${typeName(issue.expected)}`, issue.input, redacted));
        break;
      case 'invalid_value':
        push(issue.path, withValue(`must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`, issue.input, redacted));
        break;
      case 'too_small':
      case 'too_big':
        push(issue.path, withValue(rangeRule(issue), issue.input, redacted));
        break;
      case 'invalid_union':
        push(issue.path, withValue(unionRule(issue), issue.input, redacted));
        break;
      case 'invalid_key':
      case 'invalid_element':
        for (const p of issuesToProblems(issue.issues, { redact: opts.redact })) {
          push(issue.path, `key ${p.message}`);
        }
        break;
      case 'custom':
        // addProblem has already written the whole message, value included.
        if (issue.params?.['complete'] === true) push(issue.path, issue.message);
        else push(issue.path, withValue(issue.message, issue.input, redacted));
        break;
      default:
        // invalid_format issues carry our own rule text.
        push(issue.path, withValue(issue.message, issue.input, redacted));
    }
  }
  return out;
}

/**
 * Records a rule violation from a refinement. `value` is appended as the current
 * value (pass undefined to leave it out); `path` is relative to the refined value.
 */
export function addProblem(ctx: RefineCtx, path: Path, rule: string, value?: unknown): void {
  ctx.addIssue({ code: 'custom', message: withValue(rule, value), path: [...path], params: { complete: true } });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The field of a possibly malformed object, for refinements that run regardless. */
export function field(v: unknown, key: string): unknown {
  return isRecord(v) ? v[key] : undefined;
}
