import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { BrambleError, ERROR_CODE_METADATA_KEY, isBrambleError } from '../../proto/util/errors.js';
import { silentLogger } from '../../proto/util/log.js';
import type { JoinMemberResponse, MemberStatusResponse } from '../../proto/load.js';
import type { Command, CommitResult } from '../store/store.js';
import { checkMemberAddress, checkMemberName, membersHandlers, parseCommand, standaloneMembers, type MemberService } from './api-members.js';

const JOINED: JoinMemberResponse = { caPem: 'CA', caKeyPem: 'KEY', encryptionKeys: '{}', members: [{ name: 'cp1', address: '10.0.0.1:7443', learner: false }] };

class FakeMembers implements MemberService {
  joins: Array<[string, string]> = [];
  proposed: Command[] = [];
  async join(name: string, address: string, _token: string): Promise<JoinMemberResponse> {
    this.joins.push([name, address]);
    return JOINED;
  }
  async propose(command: Command): Promise<CommitResult> {
    this.proposed.push(command);
    if (command.ops[0]?.type === 'delete') throw new BrambleError('NOT_FOUND', 'ConfigMap default/x not found');
    return { revision: 7, objects: command.ops.map((o) => (o.type === 'put' ? { ...o.object, metadata: { ...o.object.metadata, resourceVersion: '7' } } : undefined!)) };
  }
  ownStatus(): MemberStatusResponse {
    return { name: 'cp1', role: 'leader', term: 3, leader: 'cp1', commitIndex: 9, appliedIndex: 9, lastIndex: 9, revision: 7 };
  }
}

type CaTake = (step: 'stage' | 'adopt' | 'abort', rotation: { caPem: string; caKeyPem: string; previousUntil: string }) => Promise<string>;

function setup(opts: { replica?: boolean; tokenOk?: boolean; adopt?: (keyFile: string) => Promise<string>; takeCa?: CaTake; refuseJoin?: () => void } = {}) {
  const members = new FakeMembers();
  const failures: string[] = [];
  const handlers = membersHandlers({
    logger: silentLogger(), members,
    verifyToken: async () => { if (opts.tokenOk === false) throw new BrambleError('TOKEN_INVALID', 'join token is not known'); },
    authorizeReplica: () => {
      if (!opts.replica) throw new BrambleError('FORBIDDEN', 'the admin may not forward writes: only a replica may');
      return 'cp2';
    },
    joinLimiter: { check: () => undefined, recordFailure: (s: string) => void failures.push(s) } as never,
    peerAddress: () => '10.0.0.9',
    adoptEncryptionKeys: () => opts.adopt,
    ...(opts.takeCa ? { setClusterCa: opts.takeCa } : {}),
    ...(opts.refuseJoin ? { refuseJoin: opts.refuseJoin } : {}),
  });
  return { members, failures, handlers };
}

function unaryCall<Req, Res>(h: grpc.handleUnaryCall<Req, Res>, request: Req): Promise<{ err: grpc.ServiceError | null; value?: Res }> {
  const call = { request, getAuthContext: () => ({}), getPeer: () => 'ipv4:10.0.0.9:5000' } as unknown as grpc.ServerUnaryCall<Req, Res>;
  return new Promise((resolve) => h(call, (err, value) => resolve({ err: err as grpc.ServiceError | null, value: value ?? undefined })));
}

const code = (err: grpc.ServiceError | null): unknown => err?.metadata?.get(ERROR_CODE_METADATA_KEY)[0];

describe('the Members service', () => {
  test('a server with the right token joins with its name and address', async () => {
    const { members, handlers } = setup();
    const { err, value } = await unaryCall(handlers.JoinMember, { token: 't', name: 'cp2', address: '10.0.0.2:7443' });
    assert.equal(err, null);
    assert.deepEqual(value, JOINED);
    assert.deepEqual(members.joins, [['cp2', '10.0.0.2:7443']]);
  });

  test('a wrong token is refused, counted against the source, and adds no member', async () => {
    const { members, failures, handlers } = setup({ tokenOk: false });
    const { err } = await unaryCall(handlers.JoinMember, { token: 't', name: 'cp2', address: '10.0.0.2:7443' });
    assert.equal(code(err), 'TOKEN_INVALID');
    assert.deepEqual(failures, ['10.0.0.9']);
    assert.deepEqual(members.joins, []);
  });

  test('a bad member name or address is refused by field before the token is checked', async () => {
    const { members, handlers } = setup();
    const bad = await unaryCall(handlers.JoinMember, { token: 't', name: 'CP_2', address: '10.0.0.2:7443' });
    assert.equal(code(bad.err), 'INVALID_ARGUMENT');
    assert.match(bad.err!.details, /name must be a lower-case DNS name/);
    const port = await unaryCall(handlers.JoinMember, { token: 't', name: 'cp2', address: '10.0.0.2:99999' });
    assert.match(port.err!.details, /address must be HOST:PORT with a port of 1-65535: current value is "10.0.0.2:99999"/);
    assert.deepEqual(members.joins, []);
  });

  test('a forwarded write needs a replica certificate', async () => {
    const { members, handlers } = setup({ replica: false });
    const { err } = await unaryCall(handlers.Forward, { commandJson: JSON.stringify({ ops: [{ type: 'delete', kind: 'ConfigMap', name: 'x' }] }) });
    assert.equal(code(err), 'FORBIDDEN');
    assert.deepEqual(members.proposed, []);
  });

  test('a forwarded write is proposed and answered with its result, or its error code', async () => {
    const { members, handlers } = setup({ replica: true });
    const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default' }, data: { a: 'b' } };
    const ok = await unaryCall(handlers.Forward, { commandJson: JSON.stringify({ ops: [{ type: 'put', object, precondition: { absent: true } }] }) });
    assert.equal(ok.err, null);
    assert.equal(ok.value!.revision, 7);
    assert.equal(JSON.parse(ok.value!.objects![0]!).metadata.resourceVersion, '7');
    assert.deepEqual(members.proposed[0], { ops: [{ type: 'put', object, precondition: { absent: true } }] });
    const missing = await unaryCall(handlers.Forward, { commandJson: JSON.stringify({ ops: [{ type: 'delete', kind: 'ConfigMap', namespace: 'default', name: 'x' }] }) });
    assert.equal(code(missing.err), 'NOT_FOUND');
    // A command is a document, not a name: one far above a name's 1,024 characters is forwarded (a Node, a Deployment).
    const big = { ...object, data: { a: 'b'.repeat(100_000) } };
    const forwarded = await unaryCall(handlers.Forward, { commandJson: JSON.stringify({ ops: [{ type: 'put', object: big }] }) });
    assert.equal(forwarded.err, null);
    const op = members.proposed.at(-1)!.ops[0]!;
    assert.equal(op.type === 'put' && (op.object.data as { a: string }).a.length, 100_000);
  });

  test('a key file is taken from replicas only, within its size bound, and only once the store is open', async () => {
    const taken: string[] = [];
    const adopt = async (f: string): Promise<string> => { taken.push(f); return 'aesgcm-new'; };
    const admin = await unaryCall(setup({ replica: false, adopt }).handlers.SetEncryptionKeys, { keyFile: '{}' });
    assert.equal(code(admin.err), 'FORBIDDEN');
    const { handlers } = setup({ replica: true, adopt });
    for (const [keyFile, expected] of [['', 'INVALID_ARGUMENT'], ['x'.repeat(64 * 1024 + 1), 'LIMIT_EXCEEDED']] as const) {
      const r = await unaryCall(handlers.SetEncryptionKeys, { keyFile });
      assert.equal(code(r.err), expected);
    }
    // The largest key file there may be (MAX_KEYS keys) passes the generic field limits.
    const big = JSON.stringify({ version: 1, active: 'k0', keys: Array.from({ length: 100 }, (_, i) => ({ id: `aesgcm-20261202t060000z-${i}`, created: '2026-12-02T06:00:00.000Z', secret: 'A'.repeat(44) })) }, null, 2);
    const r = await unaryCall(handlers.SetEncryptionKeys, { keyFile: big });
    assert.equal(r.err, null);
    taken.length = 0;
    assert.deepEqual(taken, [], 'nothing refused reached the key file');
    const ok = await unaryCall(handlers.SetEncryptionKeys, { keyFile: '{"version":1}' });
    assert.deepEqual([ok.err, ok.value?.activeKeyId, taken], [null, 'aesgcm-new', ['{"version":1}']]);
    const starting = await unaryCall(setup({ replica: true }).handlers.SetEncryptionKeys, { keyFile: '{}' });
    assert.equal(code(starting.err), 'UNAVAILABLE');
  });

  test('a join with a good token is refused while no server may join (a CA rotation\'s overlap), and not counted as a wrong token', async () => {
    const { members, failures, handlers } = setup({ refuseJoin: () => { throw new BrambleError('FAILED_PRECONDITION', 'a cluster CA rotation is under way until 2027-01-01T00:00:00.000Z: a server can join once it ends'); } });
    const r = await unaryCall(handlers.JoinMember, { token: 't', name: 'cp4', address: '10.0.0.4:7443' });
    assert.equal(code(r.err), 'FAILED_PRECONDITION');
    assert.match(r.err!.details, /can join once it ends/);
    assert.deepEqual(members.joins, []);
    assert.deepEqual(failures, []);
  });

  test('a CA rotation step is taken from replicas only, with a known step, within its bounds, and only once the member can', async () => {
    const taken: string[] = [];
    const takeCa: CaTake = async (step, r) => { taken.push(`${step} ${r.caPem} ${r.caKeyPem} ${r.previousUntil}`); return 'abc123'; };
    const req = (over: Record<string, string>) => ({ step: 'adopt', caPem: 'CA', caKeyPem: 'KEY', previousUntil: '2027-01-01T00:00:00.000Z', ...over });
    assert.equal(code((await unaryCall(setup({ replica: false, takeCa }).handlers.SetClusterCa, req({}))).err), 'FORBIDDEN');
    const { handlers } = setup({ replica: true, takeCa });
    for (const [over, expected] of [
      [{ step: 'replace' }, 'INVALID_ARGUMENT'],
      [{ caPem: '' }, 'INVALID_ARGUMENT'],
      [{ caKeyPem: '' }, 'INVALID_ARGUMENT'],
      [{ caPem: 'x'.repeat(16 * 1024 + 1) }, 'LIMIT_EXCEEDED'],
      [{ caKeyPem: 'x'.repeat(16 * 1024 + 1) }, 'LIMIT_EXCEEDED'],
    ] as const) {
      const r = await unaryCall(handlers.SetClusterCa, req(over));
      assert.equal(code(r.err), expected, JSON.stringify(over).slice(0, 80));
    }
    assert.deepEqual(taken, [], 'nothing refused reached the PKI');
    // A CA certificate above the generic field limit (1,024 characters) passes: an RSA one is several KB.
    const bigCa = 'C'.repeat(4000);
    const ok = await unaryCall(handlers.SetClusterCa, req({ caPem: bigCa }));
    assert.deepEqual([ok.err, ok.value?.signingCaHash], [null, 'abc123']);
    const stage = await unaryCall(handlers.SetClusterCa, req({ step: 'stage', caKeyPem: '' }));
    assert.equal(stage.err, null, 'a stage carries no key');
    assert.deepEqual(taken, [`adopt ${bigCa} KEY 2027-01-01T00:00:00.000Z`, 'stage CA  2027-01-01T00:00:00.000Z']);
    const starting = await unaryCall(setup({ replica: true }).handlers.SetClusterCa, req({}));
    assert.equal(code(starting.err), 'UNAVAILABLE');
  });

  test('a member answers for itself', async () => {
    const { handlers } = setup({ replica: true });
    const { value } = await unaryCall(handlers.MemberStatus, {});
    assert.equal(value!.role, 'leader');
    assert.equal(value!.appliedIndex, 9);
  });
});

describe('parseCommand', () => {
  test('keeps puts and deletes with their preconditions', () => {
    const cmd = { ops: [
      { type: 'put', object: { kind: 'ConfigMap', metadata: { name: 'a' } }, precondition: { resourceVersion: '3' } },
      { type: 'delete', kind: 'Pod', namespace: 'default', name: 'p', precondition: { exists: true } },
    ] };
    assert.deepEqual(parseCommand(JSON.stringify(cmd)), cmd);
  });

  test('refuses what is not a command, naming the op', () => {
    const refuse = (v: unknown, pattern: RegExp): void =>
      assert.throws(() => parseCommand(JSON.stringify(v)), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT') && pattern.test(e.message));
    refuse({ ops: [] }, /non-empty list of ops/);
    refuse({ ops: [{ type: 'patch' }] }, /ops\[0\]\.type must be put or delete/);
    refuse({ ops: [{ type: 'put', object: { kind: 'X' } }] }, /ops\[0\]\.object must be an object with kind and metadata.name/);
    refuse({ ops: [{ type: 'delete', kind: 'Pod', name: 'p', precondition: { resourceVersion: 3 } }] }, /ops\[0\]\.precondition must be/);
    refuse({ ops: [{ type: 'delete', kind: 'Pod', name: 'p', precondition: { absent: true, exists: true } }] }, /ops\[0\]\.precondition must be/);
  });

  test('any text either parses or is refused with a BrambleError, never anything else', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ ops: [v] }))), (text) => {
      try {
        parseCommand(text);
      } catch (e) {
        assert.ok(e instanceof BrambleError, String(e));
      }
    }), { numRuns: 2000 });
  });
});

describe('member names and addresses', () => {
  test('names are DNS names, addresses host:port', () => {
    assert.equal(checkMemberName('pi-1.lan'), 'pi-1.lan');
    assert.throws(() => checkMemberName(''), /name must be a lower-case DNS name/);
    assert.throws(() => checkMemberName('é'), /current value is "é"/);
    assert.equal(checkMemberAddress('[fe80::1]:7443'), '[fe80::1]:7443');
    assert.throws(() => checkMemberAddress('pi-1'), /address must be HOST:PORT/);
    assert.throws(() => checkMemberAddress('pi-1:0'), /port of 1-65535/);
  });

  test('a standalone server is its only member and has no member to remove', async () => {
    const m = standaloneMembers('cp', () => '127.0.0.1:7443', () => 12);
    const s = await m.status();
    assert.deepEqual(s.members!.map((x) => [x.name, x.role, x.appliedIndex]), [['cp', 'standalone', 12]]);
    await assert.rejects(m.remove('cp'), (e: unknown) => isBrambleError(e, 'FAILED_PRECONDITION'));
  });
});
