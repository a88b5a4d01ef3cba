// What one node may see: the Pods bound to it and the ConfigMaps and Secrets
// those Pods use — nothing else (DESIGN.md: a node reads only what concerns it).
// The feed sends the current state (SYNC … SYNCED), then changes, from one
// consistent store revision, so nothing falls between the list and the watch.
// A ConfigMap or Secret that no Pod of the node uses any more (the Pod was
// deleted, moved to another node or no longer names it) is sent as DELETED:
// the node must not keep reading it, and a stale copy must not be reused when a
// Pod names it again (its changes were not sent while nothing used it).
import type { KObject, Pod } from '../../proto/model.js';
import { keyOf, objectKey } from '../../proto/model.js';
import type { Store, StoreEvent, Watch } from '../store/store.js';

export interface AssignmentMessage {
  type: 'SYNC' | 'SYNCED' | 'ADDED' | 'MODIFIED' | 'DELETED';
  object?: KObject;
  revision: number;
}

/** Names of the ConfigMaps and Secrets a Pod reads (volumes, env and envFrom), in its namespace. */
export function podReferences(pod: Pod): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const v of pod.spec.volumes ?? []) {
    if (v.configMap) configMaps.add(v.configMap.name);
    if (v.secret) secrets.add(v.secret.secretName);
  }
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef) configMaps.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef) secrets.add(e.valueFrom.secretKeyRef.name);
    }
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef) configMaps.add(f.configMapRef.name);
      if (f.secretRef) secrets.add(f.secretRef.name);
    }
  }
  return { configMaps, secrets };
}

/** [kind, name] of every ConfigMap and Secret the Pod reads. */
function referencedObjects(pod: Pod): [kind: string, name: string][] {
  const refs = podReferences(pod);
  return [
    ...[...refs.configMaps].map((n): [string, string] => ['ConfigMap', n]),
    ...[...refs.secrets].map((n): [string, string] => ['Secret', n]),
  ];
}

function isBoundTo(obj: KObject, nodeName: string): obj is Pod {
  return obj.kind === 'Pod' && (obj as Pod).spec?.nodeName === nodeName;
}

export class AssignmentFeed {
  /** Pods of this node that the agent currently knows, by store key. */
  private readonly pods = new Map<string, Pod>();
  /** ConfigMaps/Secrets the agent has been sent, by store key, as last sent. */
  private readonly sentRefs = new Map<string, KObject>();
  private watch: Watch | undefined;

  constructor(
    private readonly store: Store,
    private readonly nodeName: string,
    private readonly send: (m: AssignmentMessage) => void,
  ) {}

  start(): void {
    const { items, revision } = this.store.list('Pod');
    const mine = items.filter((p) => isBoundTo(p, this.nodeName));
    for (const pod of mine) {
      this.sendRefs(pod, 'SYNC', revision);
      this.pods.set(keyOf(pod), pod);
      this.send({ type: 'SYNC', object: pod, revision });
    }
    this.send({ type: 'SYNCED', revision });
    this.watch = this.store.watch({ fromRevision: revision }, (e) => this.onEvent(e));
  }

  cancel(): void {
    this.watch?.cancel();
    this.watch = undefined;
  }

  private onEvent(e: StoreEvent): void {
    const obj = e.object;
    if (obj.kind === 'Pod') {
      const key = keyOf(obj);
      const before = this.pods.get(key);
      const known = before !== undefined;
      if (e.type !== 'DELETED' && isBoundTo(obj, this.nodeName)) {
        this.sendRefs(obj, 'ADDED', e.revision);
        this.pods.set(key, obj);
        this.send({ type: known ? 'MODIFIED' : 'ADDED', object: obj, revision: e.revision });
      } else if (known) {
        this.pods.delete(key);
        this.send({ type: 'DELETED', object: obj, revision: e.revision });
      }
      // After the Pod itself, so the agent never holds a Pod without what it reads.
      if (before) this.releaseRefs(before, e.revision);
      return;
    }
    if ((obj.kind === 'ConfigMap' || obj.kind === 'Secret') && this.isReferenced(obj)) {
      const key = keyOf(obj);
      if (e.type === 'DELETED') this.sentRefs.delete(key);
      else this.sentRefs.set(key, obj);
      this.send({ type: e.type, object: obj, revision: e.revision });
    }
  }

  /** Sends DELETED for what `pod` read that no Pod of this node reads any more. */
  private releaseRefs(pod: Pod, revision: number): void {
    const ns = pod.metadata.namespace;
    for (const [kind, name] of referencedObjects(pod)) {
      const key = objectKey(kind, ns, name);
      const sent = this.sentRefs.get(key);
      if (!sent || this.isReferenced(sent)) continue;
      this.sentRefs.delete(key);
      this.send({ type: 'DELETED', object: sent, revision });
    }
  }

  private isReferenced(obj: KObject): boolean {
    for (const pod of this.pods.values()) {
      if (pod.metadata.namespace !== obj.metadata.namespace) continue;
      const refs = podReferences(pod);
      const names = obj.kind === 'ConfigMap' ? refs.configMaps : refs.secrets;
      if (names.has(obj.metadata.name)) return true;
    }
    return false;
  }

  /** Sends the Pod's ConfigMaps and Secrets the agent has not had yet, before the Pod itself. */
  private sendRefs(pod: Pod, type: 'SYNC' | 'ADDED', revision: number): void {
    const ns = pod.metadata.namespace;
    for (const [kind, name] of referencedObjects(pod)) {
      const key = objectKey(kind, ns, name);
      if (this.sentRefs.has(key)) continue;
      const obj = this.store.get(kind, ns, name);
      if (!obj) continue;
      this.sentRefs.set(key, obj);
      this.send({ type, object: obj, revision });
    }
  }
}
