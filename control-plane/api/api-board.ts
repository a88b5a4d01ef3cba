// Cluster API calls that only a board can answer: container logs and image
// imports go through the agent's tunnel; live figures come from the heartbeats
// kept in memory (never from the store).
import type { ExecStart__Output, ImageChunk__Output, LogsRequest__Output, TopRequest__Output, TopResponse, NodeFigures } from '../../proto/types.js';
import { BrambleError } from '../../proto/util/errors.js';
import { parseUntrustedJson } from '../../proto/util/untrusted-json.js';
import type { NodeObject, Pod } from '../../proto/model.js';
import { DEFAULT_NAMESPACE } from '../../proto/model.js';
import { describeObject, notFoundError } from './api-apply.js';
import type { NodeHeartbeats } from '../nodes/node-heartbeats.js';
import type { TunnelRegistry } from '../nodes/node-tunnels.js';
import type { Store } from '../store/store.js';
import { prepareExec, type PreparedExec } from './api-exec.js';

export interface BoardApiDeps {
  store: Store;
  tunnels: TunnelRegistry;
  heartbeats: NodeHeartbeats;
}

export class BoardApi {
  constructor(private readonly deps: BoardApiDeps) {}

  /** Streams the container's log from its board; cancel() stops a follow. */
  logs(req: LogsRequest__Output): AsyncIterable<Buffer> & { cancel(): void } {
    if (!req.pod) throw new BrambleError('INVALID_ARGUMENT', 'logs needs a pod name: current value is empty');
    const namespace = req.namespace || DEFAULT_NAMESPACE;
    const pod = this.deps.store.get('Pod', namespace, req.pod) as Pod | undefined;
    if (!pod) throw notFoundError('Pod', namespace, req.pod);
    const nodeName = pod.spec.nodeName;
    if (!nodeName) {
      throw new BrambleError('UNAVAILABLE', `${describeObject('Pod', namespace, req.pod)} has no logs yet: it is not scheduled to a node`);
    }
    const names = pod.spec.containers.map((c) => c.name);
    const container = req.container || (names.length === 1 ? names[0]! : '');
    if (!container) {
      throw new BrambleError('INVALID_ARGUMENT', `pod "${req.pod}" has ${names.length} containers: choose one with -c (${names.join(', ')})`);
    }
    // Init containers (sidecars among them) have logs too, by name only: the default is an app container.
    const all = [...names, ...(pod.spec.initContainers ?? []).map((c) => c.name)];
    if (!all.includes(container)) {
      throw new BrambleError('NOT_FOUND', `container "${container}" is not in pod "${req.pod}": it has ${all.join(', ')}`);
    }
    return this.deps.tunnels.get(nodeName).request((requestId) => ({
      requestId,
      logs: { namespace, pod: req.pod, container, follow: req.follow, tailLines: req.tailLines, previous: req.previous },
    }));
  }

  /** Checks an exec's start message (Pod, container, node connected); api-exec.ts relays it. */
  prepareExec(start: ExecStart__Output): PreparedExec {
    return prepareExec(this.deps.store, this.deps.tunnels, start);
  }

  top(req: TopRequest__Output): TopResponse {
    const what = req.what || 'nodes';
    if (what === 'pods') {
      const pods = [...this.deps.heartbeats.all().values()].flatMap((b) => b.pods);
      return { pods: pods.filter((p) => !req.namespace || p.namespace === req.namespace) };
    }
    if (what !== 'nodes') throw new BrambleError('INVALID_ARGUMENT', `top shows "nodes" or "pods": current value is "${what}"`);
    const nodes: NodeFigures[] = [];
    for (const n of this.deps.store.list('Node').items as NodeObject[]) {
      const beat = this.deps.heartbeats.get(n.metadata.name);
      if (beat?.figures) nodes.push({ ...beat.figures, name: n.metadata.name });
    }
    return { nodes };
  }

  /** Sends the chunks to the node's agent, which imports them into its containerd. */
  async importImage(first: ImageChunk__Output, rest: AsyncIterable<ImageChunk__Output>): Promise<string[]> {
    if (!first.node) throw new BrambleError('INVALID_ARGUMENT', 'image import needs a node name in the first chunk: current value is empty');
    if (!this.deps.store.get('Node', undefined, first.node)) throw notFoundError('Node', undefined, first.node);
    const tunnel = this.deps.tunnels.get(first.node);
    let id = 0;
    const answer = tunnel.request((requestId) => {
      id = requestId;
      return { requestId, image: { node: first.node, data: first.data } };
    });
    for await (const chunk of rest) {
      if (chunk.data.length > 0) tunnel.send({ requestId: id, image: { data: chunk.data } });
    }
    // An empty chunk marks the end of the image for the agent.
    tunnel.send({ requestId: id, image: { data: Buffer.alloc(0) } });
    const parts: Buffer[] = [];
    for await (const b of answer) parts.push(b);
    // The board's answer is input like any other: a list of image names, or a refusal.
    const text = Buffer.concat(parts).toString('utf8') || '[]';
    let names: unknown;
    try {
      names = parseUntrustedJson(text, { what: `the image import answer of node "${first.node}"` });
    } catch (e) {
      throw new BrambleError('RUNTIME_FAILED', `node "${first.node}" answered the image import with something that is not a list of image names: ${(e as Error).message}`);
    }
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
      throw new BrambleError('RUNTIME_FAILED', `node "${first.node}" answered the image import with something that is not a list of image names`);
    }
    return names as string[];
  }
}
