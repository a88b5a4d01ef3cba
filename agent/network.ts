// The Pod network: one network namespace per Pod, attached to the board's CNI
// bridge. Real implementation: network-cni.ts (ip netns + CNI plugins ADD/DEL
// with host-local IPAM); fake: network-fake.ts.

export interface PodNetworkConfig {
  /** This node's pod range, e.g. "10.42.1.0/24". */
  podCIDR: string;
  /** Whole cluster range, for routes, e.g. "10.42.0.0/16". */
  clusterCIDR: string;
  bridgeName: string;
}

export interface PodSandbox {
  podUid: string;
  /** e.g. /var/run/netns/bramble-<uid>. */
  netnsPath: string;
  ip: string;
}

/** A hostPort of one of the Pod's containers, as the CNI portmap plugin's runtimeConfig takes it. */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  hostIP?: string;
}

/** The hostPorts of a Pod's containers (init containers' too, as the kubelet counts them). */
export function portMappingsOf(pod: { spec: { containers: { ports?: { containerPort: number; hostPort?: number; protocol?: string }[] }[]; initContainers?: { ports?: { containerPort: number; hostPort?: number; protocol?: string }[] }[] } }): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol === 'UDP' ? 'udp' : 'tcp' });
    }
  }
  return out;
}

export interface EnsurePodOptions {
  /** The Pod's hostPorts; applied when the sandbox is made (a Pod's ports never change). */
  portMappings?: PortMapping[];
}

export interface PodNetwork {
  /** Creates the Pod's netns and attaches it (CNI ADD); returns the existing one if present. */
  ensurePod(podUid: string, podName: string, namespace: string, opts?: EnsurePodOptions): Promise<PodSandbox>;
  /** CNI DEL, releases the IP, deletes the netns. Returns false when there was nothing. */
  deletePod(podUid: string): Promise<boolean>;
  /** Pod uids that currently have a sandbox on this board. */
  listPods(): Promise<PodSandbox[]>;
}
