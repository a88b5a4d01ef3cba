// When each node last reported, and its live figures. Kept in the leader's memory
// only: a heartbeat every few seconds from every board would wear out an SD card,
// and the figures are stale within seconds anyway. The Node object in the store
// changes only on state changes (see node-status.ts and controller-node-lifecycle.ts).
import type { Clock } from '../../proto/util/clock.js';
import type { NodeFigures__Output, PodFigures__Output, PortConflict__Output } from '../../proto/types.js';
import { stableJson } from '../../proto/util/json.js';

export interface NodeBeat {
  /** Clock time of the last heartbeat, in ms. */
  at: number;
  figures: NodeFigures__Output | null;
  pods: PodFigures__Output[];
  /** LoadBalancer Service ports the board leaves to a process that holds them (agent/lb-port-conflicts.ts). */
  portConflicts: PortConflict__Output[];
}

/** Told which node's port conflicts changed (a node forgotten counts as a change to none). */
export type PortConflictListener = (nodeName: string) => void;

export class NodeHeartbeats {
  private readonly beats = new Map<string, NodeBeat>();
  private readonly conflictListeners = new Set<PortConflictListener>();

  constructor(private readonly clock: Clock) {}

  observe(nodeName: string, figures: NodeFigures__Output | null, pods: PodFigures__Output[] = [], portConflicts: PortConflict__Output[] = []): void {
    const before = this.beats.get(nodeName)?.portConflicts ?? [];
    this.beats.set(nodeName, { at: this.clock.now(), figures, pods, portConflicts });
    if (stableJson(before) !== stableJson(portConflicts)) this.conflictsChanged(nodeName);
  }

  /** Every node's current port conflicts (nodes without any left out). */
  portConflicts(): Map<string, PortConflict__Output[]> {
    const out = new Map<string, PortConflict__Output[]>();
    for (const [name, beat] of this.beats) if (beat.portConflicts.length > 0) out.set(name, beat.portConflicts);
    return out;
  }

  /** Calls `listener` when a node's port conflicts change; returns the unsubscribe. Only a change calls: a beat repeating them does not. */
  onPortConflictsChange(listener: PortConflictListener): () => void {
    this.conflictListeners.add(listener);
    return () => this.conflictListeners.delete(listener);
  }

  private conflictsChanged(nodeName: string): void {
    for (const l of this.conflictListeners) l(nodeName);
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
    const had = (this.beats.get(nodeName)?.portConflicts.length ?? 0) > 0;
    this.beats.delete(nodeName);
    if (had) this.conflictsChanged(nodeName);
  }
}
