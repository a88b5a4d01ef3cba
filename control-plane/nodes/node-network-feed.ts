// What every board needs to route and proxy, as kube-proxy and flannel read it:
// all Nodes (trimmed to what routing needs), Services and Endpoints. The feed
// sends the current state (SYNC … SYNCED), then changes, from one consistent
// store revision. A Node is re-sent only when its trimmed form changed, so a
// heartbeat that rewrites a Node's status costs the boards nothing.
import type { KObject, NodeObject } from '../../proto/model.js';
import { keyOf } from '../../proto/model.js';
import { stableJson } from '../../proto/util/json.js';
import type { Store, StoreEvent, Watch } from '../store/store.js';

export const NETWORK_KINDS = ['Node', 'Service', 'Endpoints'] as const;

export interface NetworkMessage {
  type: 'SYNC' | 'SYNCED' | 'ADDED' | 'MODIFIED' | 'DELETED';
  object?: KObject;
  revision: number;
}

/** A Node as a board sees another: its name, labels, pod CIDR and addresses. */
export function trimNode(node: NodeObject): NodeObject {
  const labels = node.metadata.labels;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.metadata.name,
      ...(node.metadata.uid ? { uid: node.metadata.uid } : {}),
      ...(labels ? { labels } : {}),
      ...(node.metadata.resourceVersion ? { resourceVersion: node.metadata.resourceVersion } : {}),
    },
    spec: node.spec?.podCIDR ? { podCIDR: node.spec.podCIDR } : {},
    status: { addresses: node.status?.addresses ?? [] },
  };
}

function forBoards(obj: KObject): KObject {
  return obj.kind === 'Node' ? trimNode(obj as NodeObject) : obj;
}

/** The part of a trimmed object that matters to a board (the resourceVersion does not). */
function content(obj: KObject): string {
  const { resourceVersion: _rv, ...meta } = obj.metadata;
  return stableJson({ ...obj, metadata: meta });
}

export class NetworkFeed {
  /** What was last sent, by store key, to skip Node changes boards do not need. */
  private readonly sent = new Map<string, string>();
  private watch: Watch | undefined;

  constructor(
    private readonly store: Store,
    private readonly send: (m: NetworkMessage) => void,
  ) {}

  start(): void {
    let revision = 0;
    // The store is read synchronously, so the three lists are of one revision.
    for (const kind of NETWORK_KINDS) {
      const list = this.store.list(kind);
      revision = list.revision;
      for (const obj of list.items) {
        const out = forBoards(obj);
        this.sent.set(keyOf(obj), content(out));
        this.send({ type: 'SYNC', object: out, revision: list.revision });
      }
    }
    this.send({ type: 'SYNCED', revision });
    this.watch = this.store.watch({ fromRevision: revision }, (e) => this.onEvent(e));
  }

  cancel(): void {
    this.watch?.cancel();
    this.watch = undefined;
  }

  private onEvent(e: StoreEvent): void {
    if (!(NETWORK_KINDS as readonly string[]).includes(e.object.kind)) return;
    const key = keyOf(e.object);
    const out = forBoards(e.object);
    if (e.type === 'DELETED') {
      if (!this.sent.delete(key)) return;
      this.send({ type: 'DELETED', object: out, revision: e.revision });
      return;
    }
    const before = this.sent.get(key);
    const now = content(out);
    if (before === now) return;
    this.sent.set(key, now);
    this.send({ type: before === undefined ? 'ADDED' : 'MODIFIED', object: out, revision: e.revision });
  }
}
