// Whether this replica may run controllers. Controllers run only on the leader, so
// two replicas never reconcile the same object at once. With one replica the
// process is always the leader (AlwaysLeader); the Raft issue puts its own term
// and leader state behind this interface without touching the manager.

export interface Leadership {
  isLeader(): boolean;
  /** Called on every change; returns a function that unsubscribes. */
  onChange(listener: (leader: boolean) => void): () => void;
}

/** One replica: the leader from the start, for good. */
export class AlwaysLeader implements Leadership {
  isLeader(): boolean {
    return true;
  }

  onChange(): () => void {
    return () => undefined;
  }
}
