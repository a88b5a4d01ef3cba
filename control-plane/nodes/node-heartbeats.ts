// When each node last reported, and its live figures. Kept in the leader's memory
// only: a heartbeat every few seconds from every board would wear out an SD card,
// and the figures are stale within seconds anyway. The Node object in the store
// changes only on state changes (see node-status.ts and controller-node-lifecycle.ts).
import type { Clock } from '../../proto/util/clock.js';
import type { NodeFigures__Output, PodFigures__Output } from '../../proto/types.js';

export interface NodeBeat {
  /** Clock time of the last heartbeat, in ms. */
  at: number;
  figures: NodeFigures__Output | null;
  pods: PodFigures__Output[];
}

export class NodeHeartbeats {
  private readonly beats = new Map<string, NodeBeat>();

  constructor(private readonly clock: Clock) {}

  observe(nodeName: string, figures: NodeFigures__Output | null, pods: PodFigures__Output[] = []): void {
    this.beats.set(nodeName, { at: this.clock.now(), figures, pods });
  }

  /** Clock time of the node's last heartbeat, or undefined when none arrived since this process started. */
  lastHeartbeat(nodeName: string): number | undefined {
    return this.beats.get(nodeName)?.at;
  }

  get(nodeName: string): NodeBeat | undefined {
    return this.beats.get(nodeName);
  }

  /** Every node heard from, by name. */
  all(): ReadonlyMap<string, NodeBeat> {
    return this.beats;
  }

  /** Drops a node that left the cluster. */
  forget(nodeName: string): void {
    this.beats.delete(nodeName);
  }
}
