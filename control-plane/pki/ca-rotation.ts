// A cluster CA rotation across a replicated control plane, run by the member the
// admin called (`bramble certificate rotate-ca`). Every member signs node and
// replica certificates, so all must move together: first each one trusts the new
// CA in its handshakes (stage) while still signing with the old, and only once all
// of them do does any member sign with the new one (adopt). A member that cannot be
// reached at the first step stops the rotation before anything is signed with the
// new CA; the staged trust is dropped again. The CA key travels only over the
// members' mutual TLS (as it does to a joining member) and is never logged.
import type { Clock } from '../../proto/util/clock.js';
import { BrambleError } from '../../proto/util/errors.js';
import type { Logger } from '../../proto/util/log.js';
import { certificateHash, newCaRotation, type CaRotationBundle, type ClusterPki } from './pki-ca.js';

export type CaStep = 'stage' | 'adopt' | 'abort';
export const CA_STEPS: readonly CaStep[] = ['stage', 'adopt', 'abort'];

/**
 * One step of a rotation on the member it reached (Members.SetClusterCa). A stage is
 * kept until the end of the overlap the rotation names, at most (ServerCa drops it
 * then). True when `adopt` made this member sign with the new CA.
 */
export async function takeCaStep(pki: Pick<ClusterPki, 'stageCa' | 'unstageCa' | 'adoptCa'>, step: CaStep, rotation: CaRotationBundle): Promise<boolean> {
  if (step === 'stage') await pki.stageCa(rotation.caPem, Date.parse(rotation.previousUntil));
  else if (step === 'abort') await pki.unstageCa(rotation.caPem);
  else return pki.adoptCa(rotation);
  return false;
}

/** The other members as a CA rotation reaches them. */
export interface CaPeers {
  /** Every other member, voters and learners. */
  others(): { name: string; address: string }[];
  /** One step on one member; rejects when it refuses or cannot be reached. */
  send(address: string, step: CaStep, rotation: CaRotationBundle): Promise<void>;
}

export interface CaRotationResult {
  previousHash: string;
  newHash: string;
  previousUntil: string;
  /** Every member holding the new CA, this one first. */
  members: string[];
  /** A rotation already under way was handed on, rather than a new CA made. */
  resumed: boolean;
}

export interface CaRotationDeps {
  pki: Pick<ClusterPki, 'rotationUntil' | 'stageCa' | 'unstageCa' | 'adoptCa' | 'signingCaPem'>;
  /** This member's name, for the result. */
  self: string;
  peers: CaPeers;
  clock: Clock;
  logger: Logger;
  /** The rotation under way (read from tls/), for handing it on to members that lack it. */
  current: () => Promise<CaRotationBundle & { previousPem: string }>;
}

export async function rotateCaOnEveryMember(deps: CaRotationDeps, opts: { overlapMs: number }): Promise<CaRotationResult> {
  const { pki, peers, logger } = deps;
  const others = peers.others();
  const noAddress = others.filter((p) => p.address === '');
  if (noAddress.length > 0) {
    throw new BrambleError('FAILED_PRECONDITION', `rotate-ca needs every member of the control plane, and no address is known for ${noAddress.map((p) => p.name).join(', ')}: nothing was changed`);
  }
  const resumed = pki.rotationUntil() !== undefined;
  let rotation: CaRotationBundle;
  let previousPem: string;
  if (resumed) {
    // Run again during the overlap: members that already hold this CA answer at once.
    const cur = await deps.current();
    rotation = { caPem: cur.caPem, caKeyPem: cur.caKeyPem, previousUntil: cur.previousUntil };
    previousPem = cur.previousPem;
  } else {
    rotation = await newCaRotation({ overlapMs: opts.overlapMs, clock: deps.clock });
    previousPem = pki.signingCaPem;
  }
  const rotationLog = { newHash: certificateHash(rotation.caPem), previousUntil: rotation.previousUntil, members: others.map((p) => p.name) };

  // Step 1: every member trusts the new CA. Nothing is signed with it yet.
  await takeCaStep(pki, 'stage', rotation);
  const staged = await Promise.allSettled(others.map((p) => peers.send(p.address, 'stage', rotation)));
  const unreachable = failures(others, staged);
  if (unreachable.length > 0) {
    await pki.unstageCa(rotation.caPem);
    // Best effort: a member that missed the abort trusts a CA nobody signs with until the end of the
    // overlap it was staged for (ServerCa drops it then).
    await Promise.allSettled(others.filter((_, i) => staged[i]!.status === 'fulfilled').map((p) => peers.send(p.address, 'abort', rotation)));
    logger.warn({ ...rotationLog, unreachable: unreachable.map((u) => u.name) }, 'cluster CA rotation stopped: a member could not be reached, nothing uses the new CA');
    throw new BrambleError('FAILED_PRECONDITION',
      `rotate-ca needs every member of the control plane, and these could not take the new CA: ${unreachable.map((u) => u.text).join('; ')}. ` +
      `Nothing uses the new CA${resumed ? '' : ' and the current one stays as it is'}: run rotate-ca again once every member is up`);
  }

  // Step 2: every member signs with it. Each already trusts it, so the replica
  // certificates re-issued from it are accepted by all the others.
  const adopted = await Promise.allSettled(others.map((p) => peers.send(p.address, 'adopt', rotation)));
  await pki.adoptCa(rotation);
  const missed = failures(others, adopted);
  if (missed.length > 0) {
    logger.error({ ...rotationLog, missed: missed.map((u) => u.name) }, 'cluster CA rotation incomplete: these members trust the new CA but do not sign with it');
    // Not UNAVAILABLE: the CLI would take that for an unreachable server and fail over.
    throw new BrambleError('FAILED_PRECONDITION',
      `the new CA (sha256 ${rotationLog.newHash}) is in use, but these members did not take it after trusting it: ${missed.map((u) => u.text).join('; ')}. ` +
      `Run rotate-ca again (before ${rotation.previousUntil}) to hand it to them`);
  }
  logger.info(rotationLog, resumed ? 'cluster CA rotation handed on to every member' : 'cluster CA rotated on every member');
  return {
    previousHash: certificateHash(previousPem),
    newHash: rotationLog.newHash,
    previousUntil: rotation.previousUntil,
    members: [deps.self, ...others.map((p) => p.name)],
    resumed,
  };
}

function failures(peers: { name: string; address: string }[], results: PromiseSettledResult<void>[]): { name: string; text: string }[] {
  return peers.flatMap((p, i) => {
    const r = results[i]!;
    if (r.status === 'fulfilled') return [];
    const why = r.reason instanceof Error ? r.reason.message : String(r.reason);
    return [{ name: p.name, text: `${p.name} (${p.address}): ${why}` }];
  });
}
