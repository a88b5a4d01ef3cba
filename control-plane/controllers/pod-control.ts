// How workload controllers change Pods (Kubernetes' PodControlInterface): make
// one from a template, delete one, adopt or release one. The controller decides;
// this does the writes, so tests can swap in FakePodControl (pod-control-fake.ts)
// and check what was asked for without a store.
import { randomInt, randomUUID } from 'node:crypto';
import type { Clock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import type { KObject, Pod, PodTemplateSpec } from '../../proto/model.js';
import { removalOp } from './garbage-collector/deletion.js';
import { adoptObject, controllerRef, releaseObject } from './owner-claims.js';
import { retryOnConflict } from '../store/retry-on-conflict.js';
import type { Store } from '../store/store.js';

export interface PodControl {
  /**
   * Creates a Pod from the template in `namespace`, controlled by `owner`; resolves
   * with it as stored. With `nodeName` the Pod is created bound to that node (a
   * DaemonSet's Pods): the scheduler leaves a bound Pod alone and the node's agent
   * is sent it at once. `generateName` replaces the "<owner>-" name prefix (an
   * Indexed Job's Pods are "<job>-<index>-").
   */
  createPod(namespace: string, template: PodTemplateSpec, owner: KObject, nodeName?: string, opts?: CreatePodOptions): Promise<Pod>;
  /** Deletes the Pod (gracefully when it runs on a node); a Pod already gone is not an error. */
  deletePod(namespace: string, name: string): Promise<void>;
  /**
   * Makes `owner` the Pod's controller, unless `stillWanted` (run on the fresh Pod)
   * says no: someone else adopted it, it is terminating, or its labels moved on.
   */
  adoptPod(pod: Pod, owner: KObject, stillWanted: (fresh: Pod) => boolean): Promise<void>;
  /** Removes `owner`'s ownerReference from the Pod, if it is still there. */
  releasePod(pod: Pod, owner: KObject): Promise<void>;
}

export interface CreatePodOptions {
  generateName?: string;
}

// Defined with adoption (owner-claims.ts); exported here too, where the controllers have always found them.
export { controllerOf, controllerRef } from './owner-claims.js';

/** A name generator: "web-x7k2q" for base "web-" (generateName). */
export type NameGenerator = (base: string) => string;

// The apiserver's alphabet: no vowels (no words) and no look-alikes (0/o, 1/l).
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const SUFFIX_LENGTH = 5;
/** Names are DNS labels in practice (63 characters); the suffix must fit. */
const MAX_BASE_LENGTH = 63 - SUFFIX_LENGTH;

export const randomNameGenerator: NameGenerator = (base) => {
  let suffix = '';
  for (let i = 0; i < SUFFIX_LENGTH; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
  return base.slice(0, MAX_BASE_LENGTH) + suffix;
};

/** Attempts at a fresh name when a generated one is taken, as the apiserver does for generateName. */
const NAME_ATTEMPTS = 3;

export interface StorePodControlOptions {
  store: Store;
  clock: Clock;
  generateName?: NameGenerator;
  newUid?: () => string;
}

/** Builds the Pod a template makes: what api-apply fills in for a create, done here since controllers sit below api/. */
export function podFromTemplate(
  namespace: string, template: PodTemplateSpec, owner: KObject, name: string, uid: string, nowIso: string, nodeName?: string,
  generateName = `${owner.metadata.name}-`,
): Pod {
  const spec = structuredClone(template.spec);
  if (nodeName !== undefined) spec.nodeName = nodeName;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      generateName,
      namespace,
      uid,
      creationTimestamp: nowIso,
      generation: 1,
      ...(template.metadata?.labels ? { labels: { ...template.metadata.labels } } : {}),
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [controllerRef(owner)],
    },
    spec,
  };
}

/** The real PodControl: every change is one propose with a precondition. */
export class StorePodControl implements PodControl {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly generateName: NameGenerator;
  private readonly newUid: () => string;

  constructor(opts: StorePodControlOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.generateName = opts.generateName ?? randomNameGenerator;
    this.newUid = opts.newUid ?? randomUUID;
  }

  async createPod(namespace: string, template: PodTemplateSpec, owner: KObject, nodeName?: string, opts: CreatePodOptions = {}): Promise<Pod> {
    const nowIso = new Date(this.clock.now()).toISOString();
    const base = opts.generateName ?? `${owner.metadata.name}-`;
    for (let attempt = 1; ; attempt++) {
      const name = this.generateName(base);
      const pod = podFromTemplate(namespace, template, owner, name, this.newUid(), nowIso, nodeName, base);
      try {
        // absent: a name taken meanwhile fails instead of overwriting someone's Pod.
        const res = await this.store.propose({ ops: [{ type: 'put', object: pod, precondition: { absent: true } }] });
        return res.objects[0] as Pod;
      } catch (e) {
        if (!isBrambleError(e, 'ALREADY_EXISTS') || attempt >= NAME_ATTEMPTS) throw e;
      }
    }
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    const nowIso = new Date(this.clock.now()).toISOString();
    try {
      await retryOnConflict<Pod>(this.store, { kind: 'Pod', namespace, name }, (current) => {
        const op = removalOp(this.store, current, nowIso);
        if (!op) return undefined;
        return op.type === 'delete' ? 'delete' : (op.object as Pod);
      });
    } catch (e) {
      if (!isBrambleError(e, 'NOT_FOUND')) throw e;
    }
  }

  adoptPod(pod: Pod, owner: KObject, stillWanted: (fresh: Pod) => boolean): Promise<void> {
    return adoptObject(this.store, pod, owner, stillWanted);
  }

  releasePod(pod: Pod, owner: KObject): Promise<void> {
    return releaseObject(this.store, pod, owner);
  }
}
