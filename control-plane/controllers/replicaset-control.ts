// How the Deployment controller changes ReplicaSets: create one, change one
// (scale, annotations), delete one, adopt or release one. Every write carries
// the resourceVersion the controller decided on, so a decision made from a
// cache that lags the store fails with CONFLICT and is made again, rather than
// scaling a ReplicaSet someone else has just scaled.
import { isBrambleError } from '../../proto/util/errors.js';
import type { Clock } from '../../proto/util/clock.js';
import type { KObject, ReplicaSet } from '../../proto/model.js';
import { stableJson } from '../../proto/util/json.js';
import { retryOnConflict } from '../store/retry-on-conflict.js';
import type { Store } from '../store/store.js';
import { removalOp } from './garbage-collector/deletion.js';
import { adoptObject, releaseObject } from './owner-claims.js';

export interface ReplicaSetControl {
  /** Creates the ReplicaSet (name taken: ALREADY_EXISTS); resolves with it as stored. */
  create(rs: ReplicaSet): Promise<ReplicaSet>;
  /**
   * Writes `next` over the ReplicaSet as the controller last saw it (`seen`'s
   * resourceVersion), bumping generation when the spec changed. CONFLICT when it changed meanwhile.
   */
  update(seen: ReplicaSet, next: ReplicaSet): Promise<ReplicaSet>;
  /** Deletes it (its Pods go through the garbage collector); one already gone is not an error. */
  delete(seen: ReplicaSet): Promise<void>;
  /** Makes `owner` its controller unless `stillWanted(fresh)` says no or another controller has it. */
  adopt(rs: ReplicaSet, owner: KObject, stillWanted: (fresh: ReplicaSet) => boolean): Promise<void>;
  release(rs: ReplicaSet, owner: KObject): Promise<void>;
}

export class StoreReplicaSetControl implements ReplicaSetControl {
  constructor(private readonly opts: { store: Store; clock: Clock; newUid: () => string }) {}

  async create(rs: ReplicaSet): Promise<ReplicaSet> {
    const object: ReplicaSet = {
      ...rs,
      metadata: { ...rs.metadata, uid: this.opts.newUid(), creationTimestamp: new Date(this.opts.clock.now()).toISOString(), generation: 1 },
    };
    const res = await this.opts.store.propose({ ops: [{ type: 'put', object, precondition: { absent: true } }] });
    return res.objects[0] as ReplicaSet;
  }

  async update(seen: ReplicaSet, next: ReplicaSet): Promise<ReplicaSet> {
    const specChanged = stableJson(seen.spec) !== stableJson(next.spec);
    const object: ReplicaSet = {
      ...next,
      metadata: { ...next.metadata, generation: (seen.metadata.generation ?? 1) + (specChanged ? 1 : 0) },
    };
    const res = await this.opts.store.propose({ ops: [{ type: 'put', object, precondition: { resourceVersion: seen.metadata.resourceVersion! } }] });
    return res.objects[0] as ReplicaSet;
  }

  async delete(seen: ReplicaSet): Promise<void> {
    const nowIso = new Date(this.opts.clock.now()).toISOString();
    try {
      await retryOnConflict<ReplicaSet>(this.opts.store, { kind: 'ReplicaSet', namespace: seen.metadata.namespace, name: seen.metadata.name }, (current) => {
        if (current.metadata.uid !== seen.metadata.uid) return undefined;
        const op = removalOp(this.opts.store, current, nowIso);
        if (!op) return undefined;
        return op.type === 'delete' ? 'delete' : (op.object as ReplicaSet);
      });
    } catch (e) {
      if (!isBrambleError(e, 'NOT_FOUND')) throw e;
    }
  }

  adopt(rs: ReplicaSet, owner: KObject, stillWanted: (fresh: ReplicaSet) => boolean): Promise<void> {
    return adoptObject(this.opts.store, rs, owner, stillWanted);
  }

  release(rs: ReplicaSet, owner: KObject): Promise<void> {
    return releaseObject(this.opts.store, rs, owner);
  }
}
