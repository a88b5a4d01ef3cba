// What one node may see: the Pods bound to it and the ConfigMaps and Secrets
// those Pods use — nothing else (DESIGN.md: a node reads only what concerns it).
// The feed sends the current state (SYNC … SYNCED), then changes, from one
// consistent store revision, so nothing falls between the list and the watch.
import type { KObject, Pod } from '../proto/model.js';
import { keyOf, objectKey } from '../proto/model.js';
import type { Store, StoreEvent, Watch } from './store.js';

export interface AssignmentMessage {
  type: 'SYNC' | 'SYNCED' | 'ADDED' | 'MODIFIED' | 'DELETED';
  object?: KObject;
  revision: number;
}

/** Names of the ConfigMaps and Secrets a Pod reads (volumes and env), in its namespace. */
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
  }
  return { configMaps, secrets };
}

function isBoundTo(obj: KObject, nodeName: string): obj is Pod {
  return obj.kind === 'Pod' && (obj as Pod).spec?.nodeName === nodeName;
}

export class AssignmentFeed {
  /** Pods of this node that the agent currently knows, by store key. */
  private readonly pods = new Map<string, Pod>();
  /** ConfigMaps/Secrets the agent has been sent, by store key. */
  private readonly sentRefs = new Set<string>();
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
      const known = this.pods.has(key);
      if (e.type !== 'DELETED' && isBoundTo(obj, this.nodeName)) {
        this.sendRefs(obj, 'ADDED', e.revision);
        this.pods.set(key, obj);
        this.send({ type: known ? 'MODIFIED' : 'ADDED', object: obj, revision: e.revision });
      } else if (known) {
        this.pods.delete(key);
        this.send({ type: 'DELETED', object: obj, revision: e.revision });
      }
      return;
    }
    if ((obj.kind === 'ConfigMap' || obj.kind === 'Secret') && this.isReferenced(obj)) {
      const key = keyOf(obj);
      if (e.type === 'DELETED') this.sentRefs.delete(key);
      else this.sentRefs.add(key);
      this.send({ type: e.type, object: obj, revision: e.revision });
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
    const refs = podReferences(pod);
    const wanted: [string, string][] = [
      ...[...refs.configMaps].map((n) => ['ConfigMap', n] as [string, string]),
      ...[...refs.secrets].map((n) => ['Secret', n] as [string, string]),
    ];
    for (const [kind, name] of wanted) {
      const key = objectKey(kind, ns, name);
      if (this.sentRefs.has(key)) continue;
      const obj = this.store.get(kind, ns, name);
      if (!obj) continue;
      this.sentRefs.add(key);
      this.send({ type, object: obj, revision });
    }
  }
}
