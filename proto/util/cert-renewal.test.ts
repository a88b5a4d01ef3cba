import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from './clock.js';
import { CertRenewalLoop, RENEW_BEFORE, RENEWAL_CHECK_MS, renewalDueAt, type Validity } from './cert-renewal.js';
import { silentLogger } from './log.js';

const DAY = 24 * 3600 * 1000;

/** A certificate that a renewal replaces with one of the same lifetime from "now". */
function fakeCert(clock: FakeClock, lifetimeMs: number, opts: { failures?: number } = {}) {
  let v: Validity = { notBefore: clock.now(), notAfter: clock.now() + lifetimeMs };
  let failures = opts.failures ?? 0;
  const renewedAt: number[] = [];
  return {
    renewedAt,
    current: () => v,
    cert: {
      name: 'serving',
      validity: () => v,
      renew: async () => {
        if (failures > 0) {
          failures--;
          throw new Error('the CA is unreachable');
        }
        renewedAt.push(clock.now());
        v = { notBefore: clock.now(), notAfter: clock.now() + lifetimeMs };
      },
    },
  };
}

describe('certificate renewal', () => {
  test('a one-year certificate is due 30 days before it expires, a 30-day one with a third of its lifetime left', () => {
    assert.equal(renewalDueAt({ notBefore: 0, notAfter: 365 * DAY }), 365 * DAY - RENEW_BEFORE);
    assert.equal(renewalDueAt({ notBefore: 0, notAfter: 30 * DAY }), 20 * DAY);
  });

  test('the loop renews a certificate at the first look after it is due, and not before', async () => {
    const clock = new FakeClock();
    const c = fakeCert(clock, 365 * DAY);
    const loop = new CertRenewalLoop({ clock, logger: silentLogger(), certs: [c.cert] });
    loop.start();
    await clock.advance(335 * DAY - RENEWAL_CHECK_MS);
    assert.deepEqual(c.renewedAt, [], 'not renewed while more than 30 days remain');
    const start = Date.UTC(2026, 0, 1);
    await clock.advance(2 * RENEWAL_CHECK_MS);
    assert.equal(c.renewedAt.length, 1);
    assert.ok(c.renewedAt[0]! >= start + 335 * DAY && c.renewedAt[0]! <= start + 335 * DAY + RENEWAL_CHECK_MS);
    // The new one is good for a year again: nothing more for 300 days.
    await clock.advance(300 * DAY);
    assert.equal(c.renewedAt.length, 1);
    await loop.stop();
    assert.equal(clock.pendingCount, 0, 'stop cancels the timer');
  });

  test('a certificate already due at start is renewed at once', async () => {
    const clock = new FakeClock();
    const c = fakeCert(clock, 3 * DAY);
    await clock.advance(2 * DAY + 1);
    const loop = new CertRenewalLoop({ clock, logger: silentLogger(), certs: [c.cert] });
    loop.start();
    await loop.check();
    assert.deepEqual(c.renewedAt, [clock.now()], 'renewed by the look at start, without waiting an hour');
    await loop.stop();
  });

  test('a failed renewal keeps the current certificate and is tried again at the next look', async () => {
    const clock = new FakeClock();
    const c = fakeCert(clock, 365 * DAY, { failures: 2 });
    const before = c.current();
    const loop = new CertRenewalLoop({ clock, logger: silentLogger(), certs: [c.cert] });
    loop.start();
    await clock.advance(335 * DAY + 1);
    assert.deepEqual(c.current(), before, 'still the old certificate after the first failure');
    await clock.advance(2 * RENEWAL_CHECK_MS);
    assert.equal(c.renewedAt.length, 1, 'renewed once the CA answers again');
    assert.notDeepEqual(c.current(), before);
    await loop.stop();
  });

  test('a certificate that cannot be read counts as due', async () => {
    const clock = new FakeClock();
    let renewed = 0;
    let broken = true;
    const loop = new CertRenewalLoop({
      clock, logger: silentLogger(),
      certs: [{
        name: 'node',
        validity: () => {
          if (broken) throw new Error('not a certificate');
          return { notBefore: clock.now(), notAfter: clock.now() + 365 * DAY };
        },
        renew: async () => {
          renewed++;
          broken = false;
        },
      }],
    });
    await loop.check();
    assert.equal(renewed, 1);
    await loop.check();
    assert.equal(renewed, 1);
  });

  test('a check asked for while a look runs gets a look of its own after it, shared by every such call', async () => {
    const clock = new FakeClock();
    let stale = false;
    let renewed = 0;
    let looks = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const loop = new CertRenewalLoop({
      clock, logger: silentLogger(),
      certs: [{
        name: 'replica',
        prepare: async () => {
          looks++;
          if (looks === 1) await gate;
        },
        validity: () => ({ notBefore: clock.now(), notAfter: clock.now() + 365 * DAY }),
        stale: () => stale,
        renew: async () => {
          renewed++;
          stale = false;
        },
      }],
    });
    const first = loop.check();
    // A CA adopted while the first look is past its judgement of this certificate.
    stale = true;
    const second = loop.check();
    const third = loop.check();
    assert.equal(second, third, 'calls made meanwhile share the next look');
    release();
    await Promise.all([first, second]);
    assert.equal(looks, 2);
    assert.equal(renewed, 1, 'the look begun after the change renewed it');
  });

  test('prepare runs before validity is judged; a prepare that fails counts as a certificate that cannot be read (due)', async () => {
    const clock = new FakeClock();
    const calls: string[] = [];
    let fail = true;
    const loop = new CertRenewalLoop({
      clock, logger: silentLogger(),
      certs: [{
        name: 'admin',
        prepare: async () => {
          calls.push('prepare');
          if (fail) throw new Error('admin.conf is not valid YAML');
        },
        validity: () => {
          calls.push('validity');
          return { notBefore: clock.now(), notAfter: clock.now() + 365 * DAY };
        },
        renew: async () => {
          calls.push('renew');
          fail = false;
        },
      }],
    });
    await loop.check();
    await loop.check();
    assert.deepEqual(calls, ['prepare', 'renew', 'validity', 'prepare', 'validity']);
  });
});
