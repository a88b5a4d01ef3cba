import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { readClientConfig, writeClientConfig, type ClientConfig } from '../pki/client-config.js';
import { MEMBERS_METADATA_KEY } from '../api/members-metadata.js';
import { learnedServers, membersLearner, stderrClientLog, writeLearnedServers, type ClientLog } from './cli-learn-members.js';

const CFG: ClientConfig = { server: '10.0.0.1:7443', ca: 'ca-pem', cert: 'cert-pem', key: 'key-pem' };
const MEMBERS = ['10.0.0.2:7443', '10.0.0.1:7443', '10.0.0.3:7443'];

function headers(value?: string): grpc.Metadata {
  const md = new grpc.Metadata();
  if (value !== undefined) md.set(MEMBERS_METADATA_KEY, value);
  return md;
}

function recordingLog(): ClientLog & { notices: string[]; debugs: string[] } {
  const notices: string[] = [];
  const debugs: string[] = [];
  return { notices, debugs, notice: (t) => { notices.push(t); }, debug: (t) => { debugs.push(t); } };
}

describe('learning the members', () => {
  let dir: string;
  before(async () => { dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-learn-')); });
  after(async () => { await fs.rm(dir, { recursive: true, force: true }); });

  test('the decision: own server first, removed members dropped, order alone is no change', () => {
    assert.deepEqual(learnedServers(CFG, MEMBERS), ['10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443']);
    assert.equal(learnedServers({ ...CFG, servers: ['10.0.0.1:7443', '10.0.0.3:7443', '10.0.0.2:7443'] }, MEMBERS), undefined);
    assert.deepEqual(learnedServers({ ...CFG, servers: ['10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443', '10.0.0.4:7443'] }, MEMBERS), ['10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443']);
    assert.deepEqual(learnedServers({ ...CFG, server: 'cp.lan:7443' }, MEMBERS), ['cp.lan:7443', '10.0.0.2:7443', '10.0.0.1:7443', '10.0.0.3:7443']);
    assert.equal(learnedServers(CFG, []), undefined);
    assert.equal(learnedServers(CFG, ['']), undefined);
  });

  test('the file is read again before it is written, keeping what changed meanwhile, and left alone when it already lists them', async () => {
    const file = path.join(dir, 'reread.conf');
    await writeClientConfig(file, CFG);
    // A renewal wrote a new certificate since the command read the file.
    await writeClientConfig(file, { ...CFG, cert: 'renewed-cert' });
    assert.deepEqual(await writeLearnedServers(file, MEMBERS), ['10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443']);
    const cfg = await readClientConfig(file);
    assert.equal(cfg.cert, 'renewed-cert');
    assert.deepEqual(cfg.servers, ['10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443']);
    const before = await fs.stat(file);
    assert.equal(await writeLearnedServers(file, [...MEMBERS].reverse()), undefined);
    assert.equal((await fs.stat(file)).ino, before.ino, 'not rewritten');
  });

  test('a connection writes the config once when the members differ, and adds them as failover targets', async () => {
    const file = path.join(dir, 'once.conf');
    await writeClientConfig(file, CFG);
    const log = recordingLog();
    const addresses = ['10.0.0.1:7443'];
    const learn = membersLearner(CFG, file, addresses, log);
    await learn(headers(MEMBERS.join(',')));
    assert.deepEqual((await readClientConfig(file)).servers, ['10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443']);
    assert.deepEqual(log.notices, [`${file} now lists the members' addresses: 10.0.0.1:7443, 10.0.0.2:7443, 10.0.0.3:7443\n`]);
    assert.deepEqual(addresses, ['10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443']);
    // Later answers with the same members cost no file access: the file is gone and nothing complains.
    await fs.rm(file);
    await learn(headers([...MEMBERS].reverse().join(',')));
    await learn(headers());
    assert.deepEqual([log.notices.length, log.debugs], [1, []]);
    // A removal is learned too.
    await writeClientConfig(file, { ...CFG, servers: ['10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443'] });
    await learn(headers('10.0.0.1:7443,10.0.0.2:7443'));
    assert.deepEqual((await readClientConfig(file)).servers, ['10.0.0.1:7443', '10.0.0.2:7443']);
  });

  test('bad metadata and an unwritable file cost a debug line, never the call, and leave the file as it was', async () => {
    const file = path.join(dir, 'bad.conf');
    await writeClientConfig(file, CFG);
    const text = await fs.readFile(file, 'utf8');
    const log = recordingLog();
    const learn = membersLearner(CFG, file, ['10.0.0.1:7443'], log);
    const repeated = headers('10.0.0.2:7443');
    repeated.add(MEMBERS_METADATA_KEY, '10.0.0.3:7443');
    for (const md of [headers('10.0.0.2:7443,not an address'), headers('10.0.0.2'), headers(','), repeated, headers('x'.repeat(10_000))]) {
      await learn(md);
    }
    assert.equal(await fs.readFile(file, 'utf8'), text);
    assert.equal(log.debugs.length, 5);
    assert.match(log.debugs[0]!, /^the members a server sent were ignored: bramble-members must be HOST:PORT with a port of 1-65535: current value is "not an address"/);
    assert.deepEqual(log.notices, []);
    // Whatever headers.get returns (a fuzzed or broken Metadata), nothing throws.
    for (const v of [[42], [null], [{}], [Buffer.from([0xff])], ['\u0000:1'], [[]]]) {
      await learn({ get: () => v } as unknown as grpc.Metadata);
    }
    await learn({ get: () => { throw new Error('broken metadata'); } } as unknown as grpc.Metadata);
    assert.match(log.debugs.at(-1)!, /could not be updated with the members' addresses: broken metadata/);
    const missing = membersLearner(CFG, path.join(dir, 'no-such-dir', 'x', 'gone.conf'), ['10.0.0.1:7443'], log);
    await missing(headers(MEMBERS.join(',')));
    assert.match(log.debugs.at(-1)!, /gone\.conf could not be updated with the members' addresses: cannot read client config/);
    assert.deepEqual(log.notices, []);
  });

  test('the CLI\'s log: notices always, debug lines only with BRAMBLE_LOG_LEVEL=debug or trace', () => {
    const out: string[] = [];
    const stderr = { write: (t: string) => out.push(t) };
    stderrClientLog({ stderr, env: {} }).debug('hidden');
    stderrClientLog({ stderr, env: { BRAMBLE_LOG_LEVEL: 'warn' } }).debug('hidden');
    stderrClientLog({ stderr, env: { BRAMBLE_LOG_LEVEL: 'debug' } }).debug('shown');
    stderrClientLog({ stderr, env: { BRAMBLE_LOG_LEVEL: 'TRACE' } }).debug('shown too');
    stderrClientLog({ stderr, env: {} }).notice('a notice\n');
    assert.deepEqual(out, ['debug: shown\n', 'debug: shown too\n', 'a notice\n']);
  });
});
