// Pod CIDRs: one /24 of the cluster CIDR per node, recorded on the Node
// (spec.podCIDR). Taken is what the stored Nodes hold, so a restart reads the same
// answer and deleting a Node frees its /24; a join that takes one carries the
// pod-cidrs lock (allocation-lock.ts), so two joins decided on the same read cannot
// both commit the same /24.
import { BrambleError } from '../../proto/util/errors.js';
import { formatIPv4, parseCidr } from '../../proto/ipv4.js';
import type { NodeObject } from '../../proto/model.js';
import type { Store } from '../store/store.js';

/** The /24 of the cluster range with the given index: 10.42.0.0/16, 3 → 10.42.3.0/24. */
export function podCidrAt(clusterCidr: string, index: number): string {
  const cidr = parseCidr(clusterCidr);
  if (cidr.bits > 24 || index < 0 || index >= podCidrCapacity(clusterCidr)) {
    throw new BrambleError('INVALID_ARGUMENT', `cluster CIDR ${clusterCidr} has no /24 number ${index}`);
  }
  return `${formatIPv4(cidr.base + index * 256)}/24`;
}

/** How many nodes the cluster CIDR has room for. */
export function podCidrCapacity(clusterCidr: string): number {
  return 2 ** Math.max(0, 24 - parseCidr(clusterCidr).bits);
}

/** The lowest /24 no stored Node holds; LIMIT_EXCEEDED when every one is taken. */
export function allocatePodCidr(store: Pick<Store, 'list'>, clusterCidr: string): string {
  const used = new Set(store.list('Node').items.map((n) => (n as NodeObject).spec?.podCIDR));
  const capacity = podCidrCapacity(clusterCidr);
  for (let i = 0; i < capacity; i++) {
    const cidr = podCidrAt(clusterCidr, i);
    if (!used.has(cidr)) return cidr;
  }
  throw new BrambleError(
    'LIMIT_EXCEEDED',
    `cluster CIDR ${clusterCidr} has no free /24 left for another node: all ${capacity} are held by nodes; delete a node that is gone (bramble delete node NAME) or start the server with a larger --cluster-cidr`,
  );
}

/**
 * A Node written through apply with a pod CIDR: once set it cannot change (its
 * Pods have addresses in it, as in Kubernetes), and it cannot be one another Node
 * holds. Returns the problem, if any, and whether the write takes a /24 it did not
 * hold (then it must carry the pod-cidrs lock).
 */
export function podCidrCheck(state: Pick<Store, 'list'>, node: NodeObject, stored: NodeObject | undefined): { problem?: string; takes: boolean } {
  const wanted = node.spec?.podCIDR;
  const held = stored?.spec?.podCIDR;
  if (wanted === undefined || wanted === held) return { takes: false };
  if (held !== undefined) {
    return { problem: `field is immutable: the stored node has ${JSON.stringify(held)}: current value is ${JSON.stringify(wanted)}`, takes: false };
  }
  const holder = (state.list('Node').items as NodeObject[]).find((n) => n.metadata.name !== node.metadata.name && n.spec?.podCIDR === wanted);
  if (holder) return { problem: `is already allocated to node "${holder.metadata.name}": current value is ${JSON.stringify(wanted)}`, takes: false };
  return { takes: true };
}
