// The store's contract. Every write goes through `propose(command)`: with one
// replica the command commits at once; a later issue puts a Raft log behind the
// same seam without touching callers. Commands are deterministic (uids and
// timestamps are filled in by the API before proposing), so replicas applying
// the same log reach the same state.
import type { KObject } from '../../proto/model.js';

/** A condition checked atomically when the command is applied. */
export type Precondition =
  /** The key must not exist (create). */
  | { absent: true }
  /** The key must exist at exactly this resourceVersion (optimistic concurrency). */
  | { resourceVersion: string }
  /** The key must exist (any version). */
  | { exists: true };

export type Op =
  | { type: 'put'; object: KObject; precondition?: Precondition }
  | { type: 'delete'; kind: string; namespace?: string; name: string; precondition?: Precondition };

/** All ops of a command commit together, at one new revision, or none do. */
export interface Command {
  ops: Op[];
}

export interface CommitResult {
  revision: number;
  /** For each op, in order: the object as stored (put) or as it was before removal (delete). */
  objects: KObject[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  /** For DELETED: the last state of the object, with resourceVersion set to the delete's revision. */
  object: KObject;
  revision: number;
  /**
   * MODIFIED only: the object's labels before this write, present only when the write
   * changed them ({} when it had none). A label-filtered watch needs them to tell
   * "started matching" (ADDED) and "stopped matching" (DELETED) from a plain change.
   * Recorded by the state machine, so it is part of the event as persisted and
   * replicated; events written before the field existed mean "labels unchanged".
   */
  previousLabels?: Record<string, string>;
}

export interface WatchOptions {
  kind?: string;
  namespace?: string;
  /** Deliver every event with revision > fromRevision. 0 means "from now". */
  fromRevision: number;
}

export interface Watch {
  /** Stops delivery; no event is delivered after it returns. */
  cancel(): void;
}

export interface ListResult {
  items: KObject[];
  revision: number;
}

/**
 * Objects handed out (get, list, propose results, watch events) are deeply frozen:
 * clone them (structuredClone) before changing anything.
 */
export interface Store {
  /**
   * Applies the command atomically. Rejects with BrambleError CONFLICT when a
   * resourceVersion precondition fails, ALREADY_EXISTS for `absent`, NOT_FOUND for
   * `exists` or a delete of a missing key; nothing is written then.
   */
  propose(command: Command): Promise<CommitResult>;
  get(kind: string, namespace: string | undefined, name: string): KObject | undefined;
  /** namespace undefined: all namespaces. */
  list(kind: string, namespace?: string): ListResult;
  /**
   * Delivers events after `fromRevision`, in order, without gaps or duplicates,
   * then live ones. Throws BrambleError STORE_REVISION_TOO_OLD when events after
   * fromRevision are no longer retained.
   */
  watch(options: WatchOptions, onEvent: (e: StoreEvent) => void): Watch;
  /** The revision of the last committed command. */
  revision(): number;
  /** The oldest revision a watch can still resume from. */
  oldestResumableRevision(): number;
  objectCount(): number;
  /** Bytes used by the store on disk. */
  diskBytes(): Promise<number>;
  /**
   * Where a store can: drops the retained events up to the current revision, so values
   * replaced before now are no longer served or kept as history (a Secret held in clear
   * before its first encrypted start), and asks the disk to compact. Watches from an earlier revision get
   * STORE_REVISION_TOO_OLD and relist, as after any compaction. Returns the events dropped.
   */
  forgetHistory?(): Promise<number>;
  close(): Promise<void>;
}
