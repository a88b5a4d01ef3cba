// Which owner a dependent's event concerns (the event handlers of Kubernetes'
// ReplicaSet, DaemonSet and Deployment controllers, which are alike): the owner
// its controllerRef names, if that owner is cached with that uid, or, for an
// orphan, every owner whose selector matches it and so might adopt it. The
// handlers only enqueue owner keys and tell the expectations what was observed.
import { matchesSelector, selectorRequirements, type KObject, type LabelSelector } from '../../proto/model.js';
import { INDEX_NAMESPACE, keyOf, type EventHandlers, type Informer } from './informer.js';
import { labelsChanged } from './object-changes.js';
import { controllerOf } from './owner-claims.js';

export type SelectingOwner = KObject & { spec: { selector: LabelSelector } };

export interface DependentEventsOptions<O extends SelectingOwner> {
  ownerKind: string;
  /** The owners' informer of the current term. */
  owners: () => Informer<O> | undefined;
  enqueue: (ownerKey: string) => void;
  /** Told of the creates and deletes an owner may be waiting for (ControllerExpectations). */
  observed?: {
    creation(ownerKey: string): void;
    deletion(ownerKey: string, dependentKey: string): void;
  };
}

/** Whether the owner's selector selects the object; an empty selector selects nothing (the schema refuses one). */
export function selects(owner: SelectingOwner, obj: KObject): boolean {
  const reqs = selectorRequirements(owner.spec.selector);
  return reqs.length > 0 && matchesSelector(obj.metadata.labels, reqs);
}

export class DependentEvents<O extends SelectingOwner, D extends KObject = KObject> {
  constructor(private readonly opts: DependentEventsOptions<O>) {}

  /** The owner the dependent's controllerRef names, if it is in the cache with that uid. */
  resolve(dep: D): O | undefined {
    const ref = controllerOf(dep);
    if (!ref || ref.kind !== this.opts.ownerKind) return undefined;
    const owner = this.opts.owners()?.get(`${dep.metadata.namespace}/${ref.name}`);
    return owner?.metadata.uid === ref.uid ? owner : undefined;
  }

  /** Every owner in the dependent's namespace whose selector matches it: those that could adopt an orphan. */
  selecting(dep: D): O[] {
    const owners = this.opts.owners();
    if (!owners || !dep.metadata.namespace) return [];
    return owners.byIndex(INDEX_NAMESPACE, dep.metadata.namespace).filter((o) => selects(o, dep));
  }

  handlers(): EventHandlers<D> {
    return {
      onAdd: (d) => this.added(d),
      onUpdate: (old, d) => this.updated(old, d),
      onDelete: (d) => this.deleted(d),
    };
  }

  private added(dep: D): void {
    if (dep.metadata.deletionTimestamp) return this.deleted(dep);
    const owner = this.resolve(dep);
    if (owner) {
      this.opts.observed?.creation(keyOf(owner));
      this.opts.enqueue(keyOf(owner));
      return;
    }
    if (!controllerOf(dep)) for (const o of this.selecting(dep)) this.opts.enqueue(keyOf(o));
  }

  private updated(old: D, dep: D): void {
    // A graceful delete is seen as the deletionTimestamp, long before the object is gone.
    if (dep.metadata.deletionTimestamp) return this.deleted(dep);
    const oldRef = controllerOf(old);
    const ref = controllerOf(dep);
    if (oldRef && oldRef.uid !== ref?.uid) {
      const was = this.resolve(old);
      if (was) this.opts.enqueue(keyOf(was));
    }
    const owner = this.resolve(dep);
    if (owner) {
      this.opts.enqueue(keyOf(owner));
      return;
    }
    if (!ref && (labelsChanged(old, dep) || oldRef)) for (const o of this.selecting(dep)) this.opts.enqueue(keyOf(o));
  }

  private deleted(dep: D): void {
    const owner = this.resolve(dep);
    if (!owner) return;
    this.opts.observed?.deletion(keyOf(owner), keyOf(dep));
    this.opts.enqueue(keyOf(owner));
  }
}
