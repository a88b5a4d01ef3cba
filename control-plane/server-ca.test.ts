// ServerCa on a real PKI in a temp data dir and a fake clock: the steps another
// member sends arrive through acceptClusterCa, and its minute look drops a stage
// whose rotation never reached this member's second step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { FakeClock } from '../proto/util/clock.js';
import { CertRenewalLoop } from '../proto/util/cert-renewal.js';
import { silentLogger } from '../proto/util/log.js';
import type { CaStep } from './pki/ca-rotation.js';
import { certificateHash, ensureClusterPki, newCaRotation, type CaRotationBundle } from './pki/pki-ca.js';
import type { TokenRegistry } from './pki/token-registry.js';
import { ServerCa } from './server-ca.js';

const DAY = 24 * 3600 * 1000;

test('a CA staged by another member and never adopted nor aborted here is dropped, with an error logged, once its overlap has ended', async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-server-ca-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  const clock = new FakeClock(Date.parse('2026-12-01T00:00:00Z'));
  const pki = await ensureClusterPki(dataDir, { clock });
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
  let take: ((step: CaStep, rotation: CaRotationBundle) => Promise<string>) | undefined;
  const serverCa = new ServerCa({
    pki, dataDir, clock, logger,
    member: { name: 'cp2', peers: { others: () => [], send: async () => undefined }, acceptClusterCa: (fn) => { take = fn; } },
  });
  const renewal = new CertRenewalLoop({ clock, logger: silentLogger(), certs: [] });
  // The token registry is used only when an adopted rotation's overlap ends, which this test never reaches.
  serverCa.start(renewal, {} as TokenRegistry);
  t.after(() => serverCa.stop());

  const oldCa = pki.signingCaPem;
  const rotation = await newCaRotation({ overlapMs: DAY, clock });
  assert.equal(await take!('stage', rotation), certificateHash(oldCa), 'still signing with the old CA');
  assert.equal(pki.tlsTrustPem(), oldCa + rotation.caPem);

  await clock.advance(DAY - 60_000);
  assert.equal(pki.tlsTrustPem(), oldCa + rotation.caPem, 'kept while the overlap it was staged for lasts');
  const dropped = async (): Promise<boolean> => lines.some((l) => l.includes('is no longer trusted'));
  await clock.advance(60_000);
  const deadline = Date.now() + 5000;
  while (!(await dropped())) {
    if (Date.now() > deadline) throw new Error('the stale stage was not dropped within 5 s of the minute look');
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(pki.tlsTrustPem(), oldCa);
  const entry = JSON.parse(lines.find((l) => l.includes('is no longer trusted'))!) as { level: number; stagedCaHash: string; msg: string };
  assert.equal(entry.level, 50, 'logged as an error');
  assert.equal(entry.stagedCaHash, certificateHash(rotation.caPem));
  assert.match(entry.msg, /join it again/);
  assert.ok(!JSON.stringify(lines).includes('PRIVATE KEY'), 'no key in the log');
});
