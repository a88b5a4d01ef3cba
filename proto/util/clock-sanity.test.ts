import 'reflect-metadata';
import { describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import assert from 'node:assert/strict';
import { FakeClock } from './clock.js';
import { CLOCK_POLL_MS, floorFromCertificates, RELEASE_FLOOR_MS, waitForSaneClock } from './clock-sanity.js';
import { silentLogger } from './log.js';

const DAY = 24 * 3600 * 1000;
x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function selfSigned(notBefore: number): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=t', keys, signingAlgorithm: ALG, notBefore: new Date(notBefore), notAfter: new Date(notBefore + 365 * DAY),
  });
  return cert.toString('pem') + '\n';
}

function recordingLogger(): { logger: ReturnType<typeof silentLogger>; warnings: string[] } {
  const warnings: string[] = [];
  const logger = silentLogger();
  const warn = (_obj: unknown, msg?: string): void => void warnings.push(msg ?? '');
  return { logger: Object.assign(Object.create(logger), { warn, info: () => undefined }), warnings };
}

describe('waiting for a sane clock', () => {
  test('a clock past the floor goes on at once', async () => {
    const clock = new FakeClock(RELEASE_FLOOR_MS + DAY);
    assert.deepEqual(await waitForSaneClock({ clock, logger: silentLogger(), floorMs: RELEASE_FLOOR_MS, who: 'the agent' }), { waitedMs: 0 });
    assert.equal(clock.pendingCount, 0);
  });

  test('a board booted in 1970 warns and waits until the time is set, then goes on', async () => {
    const clock = new FakeClock(0);
    const { logger, warnings } = recordingLogger();
    let done = false;
    const waiting = waitForSaneClock({ clock, logger, floorMs: RELEASE_FLOOR_MS, who: 'the agent' }).then((r) => {
      done = true;
      return r;
    });
    await clock.advance(10 * CLOCK_POLL_MS);
    assert.equal(done, false, 'still waiting while the clock says 1970');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /system clock is before 2026-01-01T00:00:00.000Z.*the agent waits for the time to be set/);
    // NTP syncs: the clock jumps forward, and the next poll sees it.
    clock.setTime(RELEASE_FLOOR_MS + 300 * DAY);
    await clock.advance(0);
    const r = await waiting;
    assert.equal(done, true);
    assert.equal(r.waitedMs, 11 * CLOCK_POLL_MS);
    assert.equal(clock.pendingCount, 0);
  });

  test('the warning is repeated each minute, not at each poll', async () => {
    const clock = new FakeClock(0);
    const { logger, warnings } = recordingLogger();
    const ac = new AbortController();
    const waiting = waitForSaneClock({ clock, logger, floorMs: RELEASE_FLOOR_MS, who: 'the server', signal: ac.signal })
      .then(() => 'went on', (e: Error) => e.message);
    await clock.advance(3 * 60_000);
    assert.equal(warnings.length, 4, 'at 0, 1, 2 and 3 minutes');
    ac.abort(new Error('stopping'));
    await clock.advance(CLOCK_POLL_MS);
    assert.equal(await waiting, 'stopping', 'an abort ends the wait');
  });

  test('the floor is the latest notBefore of the certificates given, never before the release floor', async () => {
    assert.equal(floorFromCertificates([undefined, 'not a pem']), RELEASE_FLOOR_MS);
    const later = RELEASE_FLOOR_MS + 200 * DAY;
    const early = await selfSigned(RELEASE_FLOOR_MS - 400 * DAY);
    const recent = await selfSigned(later);
    assert.equal(floorFromCertificates([early]), RELEASE_FLOOR_MS);
    assert.equal(floorFromCertificates([early + recent, undefined]), later, 'every certificate of a bundle counts');
  });
});
