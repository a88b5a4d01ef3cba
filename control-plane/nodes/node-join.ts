// Joining a board: the token proves the agent may join, the CSR carries a key
// generated on the board, and the Node object remembers that key's fingerprint
// so a second board cannot take an existing node's name. Nothing is written
// unless every check passes.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import type { NodeObject } from '../../proto/model.js';
import { HOSTNAME_LABEL } from '../../proto/model.js';
import { nodeNameRule } from '../../proto/names.js';
import { describeValue } from '../schema/schema-errors.js';
import type { Store } from '../store/store.js';

export const NODE_KEY_ANNOTATION = 'bramble.dev/node-key-sha256';

export interface JoinDeps {
  store: Store;
  clock: Clock;
  verifyToken(token: string): Promise<void>;
  signNodeCsr(csrPem: string, nodeName: string): Promise<string>;
  csrKeyFingerprint(csrPem: string): Promise<string>;
  clusterCidr: string;
}

export interface JoinResult {
  certificatePem: string;
  podCidr: string;
}

export function checkNodeName(name: string): void {
  const problem = nodeNameRule(name);
  if (problem) throw new BrambleError('INVALID_ARGUMENT', `node name ${problem}: current value is ${describeValue(name)}`);
}

/** The /24 of the cluster range with the given index: 10.42.0.0/16, 3 → 10.42.3.0/24. */
export function podCidrAt(clusterCidr: string, index: number): string {
  const [base, bits] = clusterCidr.split('/');
  const octets = base!.split('.').map(Number);
  if (octets.length !== 4 || Number(bits) > 24 || index > 2 ** (24 - Number(bits)) - 1) {
    throw new BrambleError('INVALID_ARGUMENT', `cluster CIDR ${clusterCidr} has no /24 number ${index}`);
  }
  const value = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8)) + (index << 8);
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.0/24`;
}

export function allocatePodCidr(store: Store, clusterCidr: string): string {
  const used = new Set(store.list('Node').items.map((n) => (n as NodeObject).spec?.podCIDR));
  const capacity = 2 ** (24 - Number(clusterCidr.split('/')[1]));
  for (let i = 0; i < capacity; i++) {
    const cidr = podCidrAt(clusterCidr, i);
    if (!used.has(cidr)) return cidr;
  }
  throw new BrambleError('UNAVAILABLE', `cluster CIDR ${clusterCidr} has no free /24 left for another node`);
}

/** Serializes joins so two boards never get the same pod CIDR. */
let joinChain: Promise<unknown> = Promise.resolve();

export function joinNode(deps: JoinDeps, token: string, nodeName: string, csrPem: string): Promise<JoinResult> {
  const run = joinChain.then(() => joinNodeNow(deps, token, nodeName, csrPem));
  joinChain = run.catch(() => undefined);
  return run;
}

async function joinNodeNow(deps: JoinDeps, token: string, nodeName: string, csrPem: string): Promise<JoinResult> {
  await deps.verifyToken(token);
  checkNodeName(nodeName);
  const fingerprint = await deps.csrKeyFingerprint(csrPem).catch((e: unknown) => {
    throw new BrambleError('INVALID_ARGUMENT', `csr_pem must be a PEM certificate signing request: ${e instanceof Error ? e.message : String(e)}`);
  });
  const existing = deps.store.get('Node', undefined, nodeName) as NodeObject | undefined;
  if (existing) {
    const known = existing.metadata.annotations?.[NODE_KEY_ANNOTATION];
    if (known !== fingerprint) {
      throw new BrambleError(
        'NODE_NAME_TAKEN',
        `node "${nodeName}" already joined with another key: run \`bramble delete node ${nodeName}\` first if this board replaces it`,
      );
    }
    const certificatePem = await deps.signNodeCsr(csrPem, nodeName);
    return { certificatePem, podCidr: existing.spec.podCIDR ?? allocatePodCidr(deps.store, deps.clusterCidr) };
  }
  const podCidr = allocatePodCidr(deps.store, deps.clusterCidr);
  const certificatePem = await deps.signNodeCsr(csrPem, nodeName);
  const node: NodeObject = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: nodeName,
      uid: randomUUID(),
      generation: 1,
      creationTimestamp: new Date(deps.clock.now()).toISOString(),
      labels: { [HOSTNAME_LABEL]: nodeName },
      annotations: { [NODE_KEY_ANNOTATION]: fingerprint },
    },
    spec: { podCIDR: podCidr },
    status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeJoined', message: 'waiting for the first heartbeat' }] },
  };
  await deps.store.propose({ ops: [{ type: 'put', object: node, precondition: { absent: true } }] });
  return { certificatePem, podCidr };
}
