// A cluster CA rotation across members, each with its own real PKI on its own
// data dir and a fake clock; the members reach each other through in-process
// peers that can be made unreachable.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { isBrambleError } from '../../proto/util/errors.js';
import { silentLogger } from '../../proto/util/log.js';
import { rotateCaOnEveryMember, takeCaStep, type CaPeers, type CaStep } from './ca-rotation.js';
import { ensureClusterPki, installClusterCa, readCaRotation, readClusterCaKey, rotateClusterCa, type ClusterPki } from './pki-ca.js';

const DAY = 24 * 3600 * 1000;

interface Member { name: string; dir: string; pki: ClusterPki }

async function cluster(t: { after(fn: () => Promise<void>): void }, clock: FakeClock, count = 3): Promise<Member[]> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-ca-rotation-'));
  t.after(() => fs.rm(root, { recursive: true, force: true }));
  const members: Member[] = [];
  for (let i = 1; i <= count; i++) {
    const dir = path.join(root, `cp${i}`);
    if (i > 1) await installClusterCa(dir, members[0]!.pki.signingCaPem, await readClusterCaKey(members[0]!.dir));
    members.push({ name: `cp${i}`, dir, pki: await ensureClusterPki(dir, { clock }) });
  }
  return members;
}

/** Every member but `self`, reached in process; `down` names members whose calls fail, and `log` records each step. */
function peersOf(members: Member[], self: string, down: Set<string>, log: string[], downFor: Set<CaStep> = new Set(['stage', 'adopt', 'abort'])): CaPeers {
  return {
    others: () => members.filter((m) => m.name !== self).map((m) => ({ name: m.name, address: `127.0.0.1:${m.name}` })),
    send: async (address, step, rotation) => {
      const m = members.find((x) => address === `127.0.0.1:${x.name}`)!;
      if (down.has(m.name) && downFor.has(step)) throw new Error('connection refused');
      log.push(`${step} ${m.name}`);
      await takeCaStep(m.pki, step, rotation);
    },
  };
}

function deps(members: Member[], self: Member, clock: FakeClock, peers: CaPeers) {
  return { pki: self.pki, self: self.name, peers, clock, logger: silentLogger(), current: () => readCaRotation(self.dir) };
}

const hashOf = (pem: string): string => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
const issuedBy = (certPem: string, caPem: string): boolean => new X509Certificate(certPem).verify(new X509Certificate(caPem).publicKey);

describe('cluster CA rotation across members', () => {
  test('every member trusts the new CA before any signs with it, then all sign with it and trust both for the overlap', async (t) => {
    const clock = new FakeClock();
    const members = await cluster(t, clock);
    const oldCa = members[0]!.pki.signingCaPem;
    const log: string[] = [];
    const trustSeen: string[] = [];
    members[1]!.pki.onTrustChange((trust) => trustSeen.push(trust));
    const r = await rotateCaOnEveryMember(deps(members, members[0]!, clock, peersOf(members, 'cp1', new Set(), log)), { overlapMs: 14 * DAY });
    assert.deepEqual(log, ['stage cp2', 'stage cp3', 'adopt cp2', 'adopt cp3']);
    const newCa = members[0]!.pki.signingCaPem;
    assert.notEqual(newCa, oldCa);
    assert.deepEqual(r, { previousHash: hashOf(oldCa), newHash: hashOf(newCa), previousUntil: new Date(clock.now() + 14 * DAY).toISOString(), members: ['cp1', 'cp2', 'cp3'], resumed: false });
    // Staged first (old + new in handshakes), then adopted (new + old).
    assert.deepEqual(trustSeen, [oldCa + newCa, newCa + oldCa]);
    for (const m of members) {
      assert.equal(m.pki.signingCaPem, newCa, `${m.name} signs with the new CA`);
      assert.equal(m.pki.caPem, newCa + oldCa, `${m.name} gives agents both`);
      assert.equal(m.pki.tlsTrustPem(), newCa + oldCa);
      assert.equal(m.pki.rotationUntil(), clock.now() + 14 * DAY);
      assert.equal(await fs.readFile(path.join(m.dir, 'tls', 'ca.crt'), 'utf8'), newCa);
      assert.equal(await fs.readFile(path.join(m.dir, 'tls', 'ca-previous.crt'), 'utf8'), oldCa);
      assert.equal((await fs.stat(path.join(m.dir, 'tls', 'ca.key'))).mode & 0o777, 0o600);
      assert.equal((await fs.stat(path.join(m.dir, 'tls', 'ca-previous.key'))).mode & 0o777, 0o600);
      // The serving certificate stays the previous CA's for the overlap: agents that trust only it still connect.
      assert.equal(m.pki.servingCertStale(), false);
      assert.ok(issuedBy(m.pki.servingCertPem(), oldCa));
      const replica = await m.pki.issueReplicaCert(m.name);
      assert.ok(issuedBy(replica.certPem, newCa) && m.pki.signedBySigningCa(replica.certPem));
      // A restart reads the same rotation from disk.
      const reopened = await ensureClusterPki(m.dir, { clock });
      assert.equal(reopened.signingCaPem, newCa);
      assert.equal(reopened.rotationUntil(), clock.now() + 14 * DAY);
    }

    await clock.advance(14 * DAY + 1);
    for (const m of members) {
      assert.equal(m.pki.rotationUntil(), undefined);
      assert.equal(m.pki.servingCertStale(), true, `${m.name}'s serving certificate is due once the overlap ends`);
      await m.pki.renewServingCert();
      assert.ok(issuedBy(m.pki.servingCertPem(), newCa));
      assert.equal(m.pki.tlsTrustPem(), newCa, 'the previous CA is no longer trusted');
      assert.equal(m.pki.caHash, hashOf(newCa), 'join tokens name the new CA');
    }
  });

  test('an unreachable member stops the rotation: nothing signs with the new CA and the staged trust is dropped again', async (t) => {
    const clock = new FakeClock();
    const members = await cluster(t, clock);
    const oldCa = members[0]!.pki.signingCaPem;
    const log: string[] = [];
    await assert.rejects(
      rotateCaOnEveryMember(deps(members, members[1]!, clock, peersOf(members, 'cp2', new Set(['cp3']), log)), { overlapMs: DAY }),
      (e: unknown) => isBrambleError(e, 'FAILED_PRECONDITION') && /could not take the new CA: cp3 \(127\.0\.0\.1:cp3\): connection refused/.test(e.message) && /Nothing uses the new CA/.test(e.message),
    );
    assert.deepEqual(log, ['stage cp1', 'abort cp1']);
    for (const m of members) {
      assert.equal(m.pki.signingCaPem, oldCa);
      assert.equal(m.pki.tlsTrustPem(), oldCa, `${m.name} trusts the old CA alone again`);
      await assert.rejects(fs.readFile(path.join(m.dir, 'tls', 'ca-staged.crt')), /ENOENT/, `${m.name} keeps no staged CA`);
      assert.equal(m.pki.rotationUntil(), undefined);
      await assert.rejects(fs.readFile(path.join(m.dir, 'tls', 'ca-rotation.json')), /ENOENT/);
    }
  });

  test('a member lost between the steps is named; run again, the rotation under way is handed to it', async (t) => {
    const clock = new FakeClock();
    const members = await cluster(t, clock);
    const log: string[] = [];
    const down = new Set(['cp3']);
    await assert.rejects(
      rotateCaOnEveryMember(deps(members, members[0]!, clock, peersOf(members, 'cp1', down, log, new Set(['adopt']))), { overlapMs: 7 * DAY }),
      (e: unknown) => isBrambleError(e, 'FAILED_PRECONDITION') && /did not take it after trusting it: cp3/.test(e.message) && /Run rotate-ca again/.test(e.message),
    );
    const newCa = members[0]!.pki.signingCaPem;
    assert.equal(members[1]!.pki.signingCaPem, newCa);
    assert.notEqual(members[2]!.pki.signingCaPem, newCa);
    assert.ok(members[2]!.pki.tlsTrustPem().includes(newCa), 'cp3 still trusts the new CA: the replica certificates from it are accepted');
    // cp3 restarts meanwhile: the staged CA is kept in tls/, so it still accepts the members that took it.
    const cp3 = members[2]!;
    cp3.pki = await ensureClusterPki(cp3.dir, { clock });
    assert.equal(cp3.pki.tlsTrustPem(), members[1]!.pki.caPem.slice(newCa.length) + newCa, 'the old CA and the staged one');
    assert.equal(cp3.pki.caPem, members[1]!.pki.caPem.slice(newCa.length), 'agents are still told of the old CA alone');

    await clock.advance(DAY);
    down.clear();
    const r = await rotateCaOnEveryMember(deps(members, members[0]!, clock, peersOf(members, 'cp1', down, log)), { overlapMs: 30 * DAY });
    assert.equal(r.resumed, true);
    assert.equal(r.newHash, hashOf(newCa));
    assert.equal(r.previousUntil, new Date(clock.now() - DAY + 7 * DAY).toISOString(), 'the first rotation\'s overlap, not a new one');
    for (const m of members) {
      assert.equal(m.pki.signingCaPem, newCa);
      assert.equal(m.pki.rotationUntil(), clock.now() - DAY + 7 * DAY);
      await assert.rejects(fs.readFile(path.join(m.dir, 'tls', 'ca-staged.crt')), /ENOENT/, `${m.name} keeps no staged CA once it adopted it`);
    }
  });

  test('two rotations at once from two members: the second is refused at its first step and nothing signs with either CA', async (t) => {
    const clock = new FakeClock();
    const members = await cluster(t, clock);
    const oldCa = members[0]!.pki.signingCaPem;
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-ca-other-'));
    t.after(() => fs.rm(root, { recursive: true, force: true }));
    const first = (await ensureClusterPki(root, { clock })).signingCaPem;
    // cp1's rotation has staged its CA on cp3 (and not yet adopted it) when cp2 starts another.
    await members[2]!.pki.stageCa(first);
    await assert.rejects(
      rotateCaOnEveryMember(deps(members, members[1]!, clock, peersOf(members, 'cp2', new Set(), [])), { overlapMs: DAY }),
      (e: unknown) => isBrambleError(e, 'FAILED_PRECONDITION') && /cp3 \(127\.0\.0\.1:cp3\): another cluster CA rotation is being run/.test(e.message),
    );
    for (const m of members) assert.equal(m.pki.signingCaPem, oldCa);
    assert.equal(members[0]!.pki.tlsTrustPem(), oldCa, 'cp2\'s stage on cp1 was withdrawn');
    assert.equal(members[2]!.pki.tlsTrustPem(), oldCa + first, 'cp1\'s stage on cp3 is left to cp1');
    // A stage whose rotation never came back expires: another rotation may replace it.
    await clock.advance(5 * 60_000);
    await rotateCaOnEveryMember(deps(members, members[1]!, clock, peersOf(members, 'cp2', new Set(), [])), { overlapMs: DAY });
    for (const m of members) assert.equal(m.pki.signingCaPem, members[1]!.pki.signingCaPem);
    assert.notEqual(members[1]!.pki.signingCaPem, first);
  });

  test('a member whose address is unknown is refused before anything is made', async (t) => {
    const clock = new FakeClock();
    const members = await cluster(t, clock, 2);
    const before = members[0]!.pki.signingCaPem;
    const peers: CaPeers = { others: () => [{ name: 'cp2', address: '' }], send: async () => assert.fail('no step may be sent') };
    await assert.rejects(rotateCaOnEveryMember(deps(members, members[0]!, clock, peers), { overlapMs: DAY }),
      (e: unknown) => isBrambleError(e, 'FAILED_PRECONDITION') && /no address is known for cp2/.test(e.message));
    assert.equal(members[0]!.pki.signingCaPem, before);
    assert.equal(members[0]!.pki.tlsTrustPem(), before);
  });
});

describe('a member taking up a CA', () => {
  test('adopting the CA it signs with already changes nothing; another one during an overlap is refused; a key for another CA is refused with nothing written', async (t) => {
    const clock = new FakeClock();
    const [a, b] = await cluster(t, clock, 2);
    const log: string[] = [];
    await rotateCaOnEveryMember(deps([a!, b!], a!, clock, peersOf([a!, b!], 'cp1', new Set(), log)), { overlapMs: DAY });
    const current = await readCaRotation(a!.dir);
    assert.equal(await b!.pki.adoptCa(current), false);

    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-ca-other-'));
    t.after(() => fs.rm(root, { recursive: true, force: true }));
    const other = await ensureClusterPki(root, { clock });
    const otherKey = await readClusterCaKey(root);
    await assert.rejects(b!.pki.adoptCa({ caPem: other.signingCaPem, caKeyPem: otherKey, previousUntil: new Date(clock.now() + DAY).toISOString() }),
      (e: unknown) => isBrambleError(e, 'FAILED_PRECONDITION') && /under way on this member until/.test(e.message));

    const fresh = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-ca-fresh-'));
    t.after(() => fs.rm(fresh, { recursive: true, force: true }));
    const lone = await ensureClusterPki(fresh, { clock });
    const loneCa = lone.signingCaPem;
    await assert.rejects(lone.adoptCa({ caPem: other.signingCaPem, caKeyPem: current.caKeyPem, previousUntil: new Date(clock.now() + DAY).toISOString() }),
      (e: unknown) => isBrambleError(e, 'INTERNAL') && /is not the private key of the new cluster CA certificate/.test(e.message));
    await assert.rejects(lone.adoptCa({ caPem: other.signingCaPem, caKeyPem: otherKey, previousUntil: new Date(clock.now() - 1).toISOString() }),
      (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT') && /previousUntil must be an ISO time in the future/.test(e.message));
    assert.equal(lone.signingCaPem, loneCa);
    assert.equal(await fs.readFile(path.join(fresh, 'tls', 'ca.crt'), 'utf8'), loneCa);
    await assert.rejects(fs.readFile(path.join(fresh, 'tls', 'ca-rotation.json')), /ENOENT/);
  });

  test('the same rotation adopted twice at once is written once: the previous CA on disk is the old one', async (t) => {
    const clock = new FakeClock();
    const [a, b] = await cluster(t, clock, 2);
    const oldCa = b!.pki.signingCaPem;
    const log: string[] = [];
    await rotateCaOnEveryMember(deps([a!, b!], a!, clock, peersOf([a!], 'cp1', new Set(), log)), { overlapMs: DAY });
    const rotation = await readCaRotation(a!.dir);
    assert.deepEqual(await Promise.all([b!.pki.adoptCa(rotation), b!.pki.adoptCa(rotation)]), [true, false]);
    assert.equal(await fs.readFile(path.join(b!.dir, 'tls', 'ca-previous.crt'), 'utf8'), oldCa);
    assert.equal(await fs.readFile(path.join(b!.dir, 'tls', 'ca-previous.key'), 'utf8'), await fs.readFile(path.join(a!.dir, 'tls', 'ca-previous.key'), 'utf8'));
    assert.equal(b!.pki.caPem, rotation.caPem + oldCa);
  });

  test('a member that missed the abort drops the staged CA once the overlap it was staged for ends, also after a restart', async (t) => {
    const clock = new FakeClock();
    const members = await cluster(t, clock);
    const [cp1, cp2] = members;
    const oldCa = cp1!.pki.signingCaPem;
    const log: string[] = [];
    // cp3 cannot take the stage, so the rotation stops; cp2 took it and then misses the abort.
    const inner = peersOf(members, 'cp1', new Set(), log);
    const peers: CaPeers = {
      others: inner.others,
      send: async (address, step, rotation) => {
        if ((address.endsWith('cp3') && step === 'stage') || (address.endsWith('cp2') && step === 'abort')) throw new Error('connection refused');
        await inner.send(address, step, rotation);
      },
    };
    await assert.rejects(rotateCaOnEveryMember(deps(members, cp1!, clock, peers), { overlapMs: 2 * DAY }), /these could not take the new CA: cp3/);
    assert.deepEqual(log, ['stage cp2']);
    assert.equal(cp1!.pki.tlsTrustPem(), oldCa, 'the member that ran it withdrew the trust');
    const staged = cp2!.pki.tlsTrustPem().slice(oldCa.length);
    assert.notEqual(staged, '', 'cp2 still trusts the CA of the stopped rotation');
    assert.deepEqual(JSON.parse(await fs.readFile(path.join(cp2!.dir, 'tls', 'ca-staged.json'), 'utf8')), { until: new Date(clock.now() + 2 * DAY).toISOString() });

    assert.equal(await cp2!.pki.dropStaleStage(), undefined, 'kept while the overlap it was staged for lasts');
    await clock.advance(2 * DAY - 1000);
    const restarted = await ensureClusterPki(cp2!.dir, { clock });
    assert.equal(restarted.tlsTrustPem(), oldCa + staged, 'a restart keeps the stage and its end');
    assert.equal(await restarted.dropStaleStage(), undefined);
    await clock.advance(1000);
    assert.equal(await restarted.dropStaleStage(), hashOf(staged));
    assert.equal(restarted.tlsTrustPem(), oldCa);
    await assert.rejects(fs.readFile(path.join(cp2!.dir, 'tls', 'ca-staged.crt')), /ENOENT/);
    await assert.rejects(fs.readFile(path.join(cp2!.dir, 'tls', 'ca-staged.json')), /ENOENT/);
    assert.equal(await restarted.dropStaleStage(), undefined, 'once');
    assert.equal((await ensureClusterPki(cp2!.dir, { clock })).tlsTrustPem(), oldCa);
  });

  test('a staged CA must be a certificate, and is not given to agents', async (t) => {
    const clock = new FakeClock();
    const [a] = await cluster(t, clock, 1);
    const ca = a!.pki.caPem;
    await assert.rejects(a!.pki.stageCa('not a certificate'));
    assert.equal(a!.pki.tlsTrustPem(), ca);
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-ca-other-'));
    t.after(() => fs.rm(root, { recursive: true, force: true }));
    const other = (await ensureClusterPki(root, { clock })).signingCaPem;
    await a!.pki.stageCa(other);
    assert.equal(a!.pki.tlsTrustPem(), ca + other);
    assert.equal(a!.pki.caPem, ca, 'the heartbeat\'s bundle is unchanged: agents do not renew for a staged CA');
    assert.equal(await fs.readFile(path.join(a!.dir, 'tls', 'ca-staged.crt'), 'utf8'), other);
    await a!.pki.unstageCa(other);
    assert.equal(a!.pki.tlsTrustPem(), ca);
    await assert.rejects(fs.readFile(path.join(a!.dir, 'tls', 'ca-staged.crt')), /ENOENT/);
    assert.equal((await ensureClusterPki(a!.dir, { clock })).tlsTrustPem(), ca, 'a restart after the abort trusts the old CA alone');
  });

  test('a single server rotated on disk by the CLI takes the rotation up while running', async (t) => {
    const clock = new FakeClock();
    const [a] = await cluster(t, clock, 1);
    const oldCa = a!.pki.signingCaPem;
    const trustSeen: string[] = [];
    a!.pki.onTrustChange((trust) => trustSeen.push(trust));
    assert.equal(await a!.pki.reloadCa(), false, 'nothing changed on disk');
    const rotation = await rotateClusterCa(a!.dir, { overlapMs: 3 * DAY, clock });
    assert.equal(await a!.pki.reloadCa(), true);
    const newCa = a!.pki.signingCaPem;
    assert.equal(rotation.bundlePem, newCa + oldCa);
    assert.equal(a!.pki.caPem, newCa + oldCa);
    assert.deepEqual(trustSeen, [newCa + oldCa]);
    assert.equal(a!.pki.rotationUntil(), clock.now() + 3 * DAY);
    assert.equal(await a!.pki.reloadCa(), false, 'taken up once');
  });
});
