// Expectations (client-go ControllerExpectations, simplified): what a controller
// has asked the store for and not yet seen come back through its informer.
// The informer lags the store, so a reconcile right after a burst of creates
// would otherwise count too few Pods and create the same ones again. Until the
// creates and deletes it expects have been observed (or have timed out, for a
// watch event that never comes) the controller does not manage replicas; it
// still updates status.
import type { Clock } from '../../proto/util/clock.js';

/** As client-go: long enough for any healthy watch, short enough to recover from a lost event. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

interface Expected {
  adds: number;
  /** Keys of the Pods whose delete is awaited (client-go's UIDTrackingControllerExpectations). */
  deletes: Set<string>;
  setAt: number;
}

export class ControllerExpectations {
  private readonly byController = new Map<string, Expected>();

  constructor(private readonly clock: Clock, private readonly timeoutMs = EXPECTATIONS_TIMEOUT_MS) {}

  /** Whether the controller may act again: nothing awaited, or the wait has timed out. */
  satisfied(controllerKey: string): boolean {
    const e = this.byController.get(controllerKey);
    if (!e) return true;
    if (e.adds <= 0 && e.deletes.size === 0) return true;
    return this.clock.now() - e.setAt > this.timeoutMs;
  }

  /** Replaces what is awaited: `adds` creates (set before the first create is sent). */
  expectCreations(controllerKey: string, adds: number): void {
    this.byController.set(controllerKey, { adds, deletes: new Set(), setAt: this.clock.now() });
  }

  /** Replaces what is awaited: the deletes of these Pod keys. */
  expectDeletions(controllerKey: string, podKeys: readonly string[]): void {
    this.byController.set(controllerKey, { adds: 0, deletes: new Set(podKeys), setAt: this.clock.now() });
  }

  /**
   * Replaces what is awaited with creates and deletes at once (client-go's
   * SetExpectations): a DaemonSet may create on one node and delete on another
   * in the same pass.
   */
  expect(controllerKey: string, adds: number, podKeys: readonly string[]): void {
    this.byController.set(controllerKey, { adds, deletes: new Set(podKeys), setAt: this.clock.now() });
  }

  /** One create seen by the informer, or one that failed and so will never be seen. */
  creationObserved(controllerKey: string): void {
    const e = this.byController.get(controllerKey);
    if (e && e.adds > 0) e.adds--;
  }

  /** The Pod's delete (or deletionTimestamp) was seen, or the delete failed. */
  deletionObserved(controllerKey: string, podKey: string): void {
    this.byController.get(controllerKey)?.deletes.delete(podKey);
  }

  /** The controller's object is gone: nothing of it is awaited any more. */
  delete(controllerKey: string): void {
    this.byController.delete(controllerKey);
  }

  /** What is still awaited (for tests and logs). */
  pending(controllerKey: string): { adds: number; deletes: string[] } | undefined {
    const e = this.byController.get(controllerKey);
    return e && { adds: e.adds, deletes: [...e.deletes].sort() };
  }
}
