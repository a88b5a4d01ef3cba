// How controllers say what happened (client-go's record.EventRecorder): a
// reason and a message about an object, Normal or Warning. Recording is best
// effort and never waits or throws: a controller's work must not depend on
// whether its event was stored. The store-backed recorder aggregates repeats
// (a count on one Event) so a crash-looping Pod does not write each time.
import type { KObject } from '../../proto/model.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  /** Records that `reason` (CamelCase, e.g. "FailedScheduling") happened to `involved`. */
  event(involved: KObject, type: EventType, reason: string, message: string): void;
}

/** An error's message for an event ("Error creating: <message>"), whatever was thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** For controllers run without events (tests, or before the recorder exists). */
export const NOOP_RECORDER: EventRecorder = { event: () => undefined };

export interface RecordedEvent {
  kind: string;
  namespace: string | undefined;
  name: string;
  type: EventType;
  reason: string;
  message: string;
}

/** Keeps what was recorded, for tests (client-go's FakeRecorder). */
export class FakeRecorder implements EventRecorder {
  readonly events: RecordedEvent[] = [];

  event(involved: KObject, type: EventType, reason: string, message: string): void {
    this.events.push({ kind: involved.kind, namespace: involved.metadata.namespace, name: involved.metadata.name, type, reason, message });
  }

  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}
