// Joining a board: the token proves the agent may join, the CSR carries a key
// generated on the board, and the Node object remembers that key's fingerprint
// so a second board cannot take an existing node's name. Nothing is written
// unless every check passes.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { NodeObject } from '../../proto/model.js';
import { HOSTNAME_LABEL } from '../../proto/model.js';
import { nodeNameRule } from '../../proto/names.js';
import { describeValue } from '../schema/schema-errors.js';
import type { Store } from '../store/store.js';
import { allocatePodCidr, podCidrAt } from '../ipam/pod-cidr.js';
import { POD_CIDR_LOCK, lockOp } from '../ipam/allocation-lock.js';

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

/** Moved to ipam/; kept here for callers that found them here first. */
export { allocatePodCidr, podCidrAt };

/**
 * Serializes this process's joins, so boards joining together do not make each
 * other retry; uniqueness itself comes from the pod-cidrs lock each write carries.
 */
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
    if (existing.spec?.podCIDR) return { certificatePem, podCidr: existing.spec.podCIDR };
    // Made by hand (bramble apply) without one: it gets one now, and keeps it from then on.
    const podCidr = await writePodCidr(deps, nodeName);
    return { certificatePem, podCidr };
  }
  allocatePodCidr(deps.store, deps.clusterCidr); // a full cluster CIDR refuses the join before a certificate is signed
  const certificatePem = await deps.signNodeCsr(csrPem, nodeName);
  const podCidr = await createNode(deps, nodeName, fingerprint);
  return { certificatePem, podCidr };
}

/** Writes the new Node with the lowest free pod CIDR; planned again when another write took the lock first. */
async function createNode(deps: JoinDeps, nodeName: string, fingerprint: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const podCidr = allocatePodCidr(deps.store, deps.clusterCidr);
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
    try {
      await deps.store.propose({ ops: [{ type: 'put', object: node, precondition: { absent: true } }, lockOp(deps.store, POD_CIDR_LOCK)] });
      return podCidr;
    } catch (e) {
      // The lock's first write is a create (ALREADY_EXISTS when another took it first); the Node
      // itself existing means another join of this name won, which the board's next join sorts out.
      const lost = isBrambleError(e, 'CONFLICT') || (isBrambleError(e, 'ALREADY_EXISTS') && !deps.store.get('Node', undefined, nodeName));
      if (!lost || attempt >= 5) throw e;
    }
  }
}

/** Gives a stored Node without a pod CIDR the lowest free one; planned again when another write wins the lock. */
async function writePodCidr(deps: JoinDeps, nodeName: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const node = deps.store.get('Node', undefined, nodeName) as NodeObject | undefined;
    if (!node) throw new BrambleError('CONFLICT', `node "${nodeName}" was deleted while it joined: join again`);
    if (node.spec?.podCIDR) return node.spec.podCIDR;
    const podCidr = allocatePodCidr(deps.store, deps.clusterCidr);
    const updated: NodeObject = { ...node, spec: { ...node.spec, podCIDR: podCidr } };
    try {
      await deps.store.propose({ ops: [{ type: 'put', object: updated, precondition: { resourceVersion: node.metadata.resourceVersion ?? '' } }, lockOp(deps.store, POD_CIDR_LOCK)] });
      return podCidr;
    } catch (e) {
      if (!(isBrambleError(e, 'CONFLICT') || isBrambleError(e, 'ALREADY_EXISTS')) || attempt >= 5) throw e;
    }
  }
}
