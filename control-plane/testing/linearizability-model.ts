// Bramble's store as a model for the linearizability checker: one register per
// object key holding a small string value and its resourceVersion, with the
// preconditions of store-state.ts (create needs the key absent, update and a
// conditional delete need it at the given resourceVersion). A resourceVersion
// is the cluster revision of the key's last write, so within one key the
// revisions of successive writes must increase; the order across keys is the
// revision-order check's (revision-order.ts).
import { BrambleError, fromServiceError } from '../../proto/util/errors.js';
import type { Model, Operation } from './linearizability.js';

export type StoreInput =
  | { type: 'create'; key: string; value: string }
  | { type: 'update'; key: string; value: string; resourceVersion: number }
  /** resourceVersion set: delete only if the key is still at it. */
  | { type: 'delete'; key: string; resourceVersion?: number }
  | { type: 'get'; key: string };

export type PreconditionCode = 'ALREADY_EXISTS' | 'CONFLICT' | 'NOT_FOUND';

export type StoreOutput =
  /** A write took effect at this revision (a client may not learn a delete's). */
  | { type: 'written'; revision?: number }
  | { type: 'found'; value: string; resourceVersion: number }
  | { type: 'absent' }
  /** A write refused by its precondition: it had no effect. */
  | { type: 'failed'; code: PreconditionCode };

export type StoreOperation = Operation<StoreInput, StoreOutput>;

/** The resourceVersion of a value written by an operation of unknown outcome. */
export const UNKNOWN_REVISION = -1;

export interface KeyState {
  /** undefined: the key does not exist. */
  readonly value: string | undefined;
  /** Of the value: a revision, UNKNOWN_REVISION, or 0 when absent. */
  readonly resourceVersion: number;
  /** The highest revision known to have written the key: its next write must be above it. */
  readonly floor: number;
}

export interface StoreModelOptions {
  /**
   * Every revision returned by an acknowledged write, on any key. Revisions are
   * unique across the cluster, so a value written by an operation of unknown outcome
   * cannot carry one of them (revision-order.ts checks the uniqueness).
   */
  acknowledged: ReadonlySet<number>;
  /** Keys that exist before the history starts. */
  initial?: ReadonlyMap<string, { value: string; resourceVersion: number }>;
}

const FAILURES: Record<StoreInput['type'], readonly PreconditionCode[]> = {
  create: ['ALREADY_EXISTS'],
  update: ['CONFLICT', 'NOT_FOUND'],
  delete: ['CONFLICT', 'NOT_FOUND'],
  get: [],
};

const isRevision = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/** Why an operation is not one the model knows, or undefined. */
function operationProblem(op: StoreOperation): string | undefined {
  const input = op.input as Partial<StoreInput> & { type?: unknown };
  if (typeof input?.key !== 'string') return 'has no key';
  if (!(typeof input.type === 'string' && input.type in FAILURES)) return `has type ${JSON.stringify(input.type)}, not create, update, delete or get`;
  if ((input.type === 'create' || input.type === 'update') && typeof input.value !== 'string') return 'writes no string value';
  if (input.type === 'update' && !isRevision(input.resourceVersion)) return `carries resourceVersion ${input.resourceVersion}, not a revision`;
  if (input.type === 'delete' && input.resourceVersion !== undefined && !isRevision(input.resourceVersion)) {
    return `carries resourceVersion ${input.resourceVersion}, not a revision`;
  }
  const output = op.result?.output;
  if (!output) return undefined;
  const type = input.type as StoreInput['type'];
  switch (output.type) {
    case 'written':
      if (type === 'get') return 'is a get that answered "written"';
      if (type === 'delete' ? output.revision !== undefined && !isRevision(output.revision) : !isRevision(output.revision)) {
        return `answered revision ${output.revision}, not a revision`;
      }
      return undefined;
    case 'found':
      if (type !== 'get') return `is a ${type} that answered "found"`;
      return typeof output.value === 'string' && isRevision(output.resourceVersion)
        ? undefined : 'answered "found" without a string value and a revision';
    case 'absent':
      return type === 'get' ? undefined : `is a ${type} that answered "absent"`;
    case 'failed':
      return FAILURES[type].includes(output.code) ? undefined : `is a ${type} that failed with ${output.code}`;
    default:
      return `answered ${JSON.stringify((output as { type?: unknown }).type)}`;
  }
}

/** Throws INVALID_ARGUMENT naming the first operation the model cannot read. */
export function validateStoreHistory(history: readonly StoreOperation[]): void {
  history.forEach((op, i) => {
    const problem = operationProblem(op);
    if (problem) throw new BrambleError('INVALID_ARGUMENT', `operation ${i} must be a store operation the model knows: it ${problem}`);
  });
}

/** The revisions of acknowledged writes, each once. */
export function acknowledgedRevisions(history: readonly StoreOperation[]): Set<number> {
  const out = new Set<number>();
  for (const op of history) {
    const o = op.result?.output;
    if (o?.type === 'written' && o.revision !== undefined) out.add(o.revision);
  }
  return out;
}

export function describeStoreOperation(input: StoreInput, output: StoreOutput | undefined): string {
  let call: string;
  switch (input.type) {
    case 'create': call = `create ${JSON.stringify(input.value)}`; break;
    case 'update': call = `update to ${JSON.stringify(input.value)} if at ${input.resourceVersion}`; break;
    case 'delete': call = input.resourceVersion === undefined ? 'delete' : `delete if at ${input.resourceVersion}`; break;
    case 'get': call = 'get'; break;
  }
  if (!output) return `${call} -> outcome unknown`;
  switch (output.type) {
    case 'written': return `${call} -> ok${output.revision === undefined ? '' : ` at revision ${output.revision}`}`;
    case 'found': return `${call} -> ${JSON.stringify(output.value)} at ${output.resourceVersion}`;
    case 'absent': return `${call} -> not found`;
    case 'failed': return `${call} -> ${output.code}`;
  }
}

const state = (value: string | undefined, resourceVersion: number, floor: number): KeyState => ({ value, resourceVersion, floor });

export function storeModel(options: StoreModelOptions): Model<KeyState, StoreInput, StoreOutput> {
  const { acknowledged, initial } = options;
  /** Whether a key in state s can be at resourceVersion rv. */
  const at = (s: KeyState, rv: number): boolean =>
    s.resourceVersion === rv || (s.resourceVersion === UNKNOWN_REVISION && rv > s.floor && !acknowledged.has(rv));
  const above = (s: KeyState, revision: number | undefined): boolean => revision === undefined || revision > s.floor;

  return {
    partition: (input) => input.key,
    init(key) {
      const o = initial?.get(key);
      return o ? state(o.value, o.resourceVersion, o.resourceVersion) : state(undefined, 0, 0);
    },
    irrelevant: (input, output) => input.type === 'get' && output === undefined,
    // Revisions only grow: once the key has been written at or past r and is not at r, it never is again.
    dead(s, input) {
      const r = input.type === 'update' || input.type === 'delete' ? input.resourceVersion : undefined;
      return r !== undefined && s.floor >= r && s.resourceVersion !== r;
    },
    step(s, input, output) {
      const present = s.value !== undefined;
      switch (input.type) {
        case 'create': {
          if (!output) return present ? [s] : [s, state(input.value, UNKNOWN_REVISION, s.floor)];
          if (output.type === 'written') return !present && above(s, output.revision) ? [state(input.value, output.revision!, output.revision!)] : [];
          return output.type === 'failed' && output.code === 'ALREADY_EXISTS' && present ? [s] : [];
        }
        case 'update': {
          const can = present && at(s, input.resourceVersion);
          if (!output) return can ? [s, state(input.value, UNKNOWN_REVISION, s.floor)] : [s];
          if (output.type === 'written') return can && above(s, output.revision) ? [state(input.value, output.revision!, output.revision!)] : [];
          if (output.type !== 'failed') return [];
          // A value of unknown resourceVersion may or may not be at the one asked for: CONFLICT is possible.
          if (output.code === 'CONFLICT') return present && s.resourceVersion !== input.resourceVersion ? [s] : [];
          return output.code === 'NOT_FOUND' && !present ? [s] : [];
        }
        case 'delete': {
          const expected = input.resourceVersion;
          const can = present && (expected === undefined || at(s, expected));
          if (!output) return can ? [s, state(undefined, 0, s.floor)] : [s];
          if (output.type === 'written') return can && above(s, output.revision) ? [state(undefined, 0, output.revision ?? s.floor)] : [];
          if (output.type !== 'failed') return [];
          if (output.code === 'CONFLICT') return expected !== undefined && present && s.resourceVersion !== expected ? [s] : [];
          return output.code === 'NOT_FOUND' && !present ? [s] : [];
        }
        case 'get': {
          if (!output) return [s];
          if (output.type === 'absent') return present ? [] : [s];
          if (output.type !== 'found' || !present || s.value !== output.value) return [];
          if (s.resourceVersion === output.resourceVersion) return [s];
          // The read tells which revision the write of unknown outcome got.
          return at(s, output.resourceVersion) ? [state(s.value, output.resourceVersion, output.resourceVersion)] : [];
        }
      }
    },
    stateKey: (s) => `${s.resourceVersion}|${s.floor}|${s.value === undefined ? '-' : `=${s.value}`}`,
    describeOperation: describeStoreOperation,
    describeState(s) {
      if (s.value === undefined) return s.floor === 0 ? 'nothing' : `nothing (last written at revision ${s.floor})`;
      const rv = s.resourceVersion === UNKNOWN_REVISION
        ? `an unknown resourceVersion above ${s.floor} (written by an operation of unknown outcome)`
        : `resourceVersion ${s.resourceVersion}`;
      return `${JSON.stringify(s.value)} at ${rv}`;
    },
  };
}

/**
 * What a failed call tells the history: a refused precondition is a definite answer
 * (a get's NOT_FOUND is "absent"); anything else (a timeout, a broken connection, a
 * leader change) leaves the outcome unknown. Record one attempt per operation: a
 * client that retries inside one recorded call may see ALREADY_EXISTS for its own
 * first attempt.
 */
export function storeOutcomeOfError(input: StoreInput, error: unknown): StoreOutput | undefined {
  const code = fromServiceError(error).code;
  if (input.type === 'get') return code === 'NOT_FOUND' ? { type: 'absent' } : undefined;
  return (FAILURES[input.type] as readonly string[]).includes(code) ? { type: 'failed', code: code as PreconditionCode } : undefined;
}
