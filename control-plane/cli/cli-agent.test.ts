import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CONTAINERD_ADDRESS as AGENT_DEFAULT } from '../../agent/agent.js';
import { BrambleError } from '../../proto/util/errors.js';
import {
  resolveToken,
  checkHostPort, checkNodeName, containerdSocketPath, containerdUnreachable, DEFAULT_CONTAINERD_ADDRESS, explainAgentStartError, parseLabels,
  probeContainerd,
} from './cli-agent.js';
import fc from 'fast-check';
import { parseServers, parseShimGroup } from '../../agent/main.js';
import { UsageError } from './cli-errors.js';
import { checkNodeName as checkServerNodeName } from '../nodes/node-join.js';
import { validateObjects } from '../schema/schema.js';
import { checkCidr, DEFAULT_CLUSTER_CIDR, DEFAULT_SERVICE_CIDR } from './cli-server.js';
import { DEFAULT_CLUSTER_CIDR as SERVER_CLUSTER_CIDR, DEFAULT_SERVICE_CIDR as SERVER_SERVICE_CIDR } from '../server.js';

function usageError(includes: string[]): (e: unknown) => boolean {
  return (e) => e instanceof UsageError && includes.every((s) => e.message.includes(s));
}

describe('parseLabels', () => {
  test('reads KEY=VALUE pairs, prefixed keys and empty values', () => {
    assert.deepEqual(parseLabels('disk=ssd, zone=attic,bramble.dev/board=pi4,empty='), {
      disk: 'ssd', zone: 'attic', 'bramble.dev/board': 'pi4', empty: '',
    });
  });

  test('reads an empty list as no labels', () => {
    assert.deepEqual(parseLabels(''), {});
  });

  test('names a pair without "="', () => {
    assert.throws(() => parseLabels('disk=ssd,attic'), usageError(['--labels', '"attic"', 'no "="']));
  });

  test('names a pair whose key breaks the label key rules', () => {
    assert.throws(() => parseLabels('bad key=x'), usageError(['"bad key=x"', 'key']));
    assert.throws(() => parseLabels('=x'), usageError(['"=x"', 'must not be empty']));
  });

  test('names a pair whose value breaks the label value rules', () => {
    assert.throws(() => parseLabels('zone=-attic'), usageError(['"zone=-attic"', 'value']));
  });
});

describe('flag checks', () => {
  test('HOST:PORT accepts names, addresses and bracketed IPv6', () => {
    for (const ok of ['pi-1:7443', '192.168.1.10:7443', '[::1]:7443']) checkHostPort('--server', ok);
  });

  test('HOST:PORT rejects a missing or out-of-range port, naming the flag', () => {
    assert.throws(() => checkHostPort('--server', 'pi-1'), usageError(['--server', '"pi-1"']));
    assert.throws(() => checkHostPort('--insecure-registry', 'reg:70000'), usageError(['--insecure-registry', '"reg:70000"']));
  });

  test('--server takes every control-plane member, repeated or comma-separated, in the order given and once each', () => {
    assert.deepEqual(parseServers('10.0.0.1:7443'), ['10.0.0.1:7443']);
    assert.deepEqual(parseServers(['10.0.0.1:7443,10.0.0.2:7443', ' 10.0.0.3:7443 ', '10.0.0.1:7443']), ['10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443']);
  });

  test('--server refuses any bad member with the single-address messages, and an empty list as missing', () => {
    assert.throws(() => parseServers(['10.0.0.1:7443,pi-1']), usageError(['--server must be HOST:PORT', '"pi-1"']));
    assert.throws(() => parseServers('10.0.0.1:7443,pi-2:0'), usageError(['--server port must be 1-65535: current value is "pi-2:0"']));
    for (const missing of [undefined, [], '', ' , ']) {
      assert.throws(() => parseServers(missing), usageError(['--server HOST:PORT is required']));
    }
  });

  test('--shim-group is "pod" by default or "container", and nothing else', () => {
    assert.equal(parseShimGroup(undefined), 'pod');
    assert.equal(parseShimGroup('pod'), 'pod');
    assert.equal(parseShimGroup('container'), 'container');
    assert.throws(() => parseShimGroup('board'), usageError(['--shim-group must be "pod" or "container": current value is "board"']));
  });

  test('a node name must be a lowercase DNS subdomain', () => {
    checkNodeName('--node-name', 'pi-4.attic');
    assert.throws(() => checkNodeName('--node-name', 'Pi_4'), usageError(['--node-name', '"Pi_4"']));
  });

  test('the CLI refuses exactly the node names the server refuses at join and in a Node manifest', () => {
    const throws = (fn: () => unknown): boolean => {
      try {
        fn();
        return false;
      } catch {
        return true;
      }
    };
    const name = fc.oneof(
      fc.stringMatching(/^[a-z0-9.-]{0,70}$/),
      fc.constantFrom('a'.repeat(63), 'a'.repeat(64), `pi.${'b'.repeat(60)}`, 'Pi_4', 'café', ''),
      fc.string({ unit: 'binary', maxLength: 70 }),
    );
    fc.assert(fc.property(name, (n) => {
      const cli = !throws(() => checkNodeName('--node-name', n));
      const join = !throws(() => checkServerNodeName(n));
      const manifest = !throws(() => validateObjects([{ apiVersion: 'v1', kind: 'Node', metadata: { name: n } }]));
      assert.equal(cli, join, `the CLI ${cli ? 'accepts' : 'refuses'} ${JSON.stringify(n)}, Join ${join ? 'accepts' : 'refuses'} it`);
      assert.equal(cli, manifest, `the CLI ${cli ? 'accepts' : 'refuses'} ${JSON.stringify(n)}, a Node manifest ${manifest ? 'is accepted' : 'is refused'}`);
    }), { numRuns: 300 });
  });

  test('the CLI defaults for the ranges are the server\'s defaults', () => {
    assert.equal(DEFAULT_CLUSTER_CIDR, SERVER_CLUSTER_CIDR);
    assert.equal(DEFAULT_SERVICE_CIDR, SERVER_SERVICE_CIDR);
  });

  test('the cluster CIDR must leave a /24 per node; the service CIDR may be smaller', () => {
    checkCidr('--cluster-cidr', '10.42.0.0/16', 24);
    checkCidr('--service-cidr', '10.43.0.0/28', 30);
    assert.throws(() => checkCidr('--cluster-cidr', '10.42.0.0/25', 24), usageError(['--cluster-cidr', '"10.42.0.0/25"']));
    assert.throws(() => checkCidr('--service-cidr', '10.300.0.0/16', 30), usageError(['--service-cidr']));
    assert.throws(() => checkCidr('--service-cidr', 'fd00::/64', 30), usageError(['--service-cidr']));
  });
});

describe('containerd checks', () => {
  test('the CLI default socket is the agent\'s default', () => {
    assert.equal(DEFAULT_CONTAINERD_ADDRESS, AGENT_DEFAULT);
  });

  test('a unix:// address is read as the socket path', () => {
    assert.equal(containerdSocketPath('unix:///run/containerd/containerd.sock'), '/run/containerd/containerd.sock');
    assert.equal(containerdSocketPath('/tmp/c.sock'), '/tmp/c.sock');
  });

  test('a socket nobody created is reported as ENOENT', async (t) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-probe-'));
    t.after(() => fs.rm(dir, { recursive: true, force: true }));
    assert.equal(await probeContainerd(path.join(dir, 'containerd.sock')), 'ENOENT');
  });

  test('a socket something listens on is reachable', async (t) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-probe-'));
    const socket = path.join(dir, 'containerd.sock');
    const server = net.createServer((c) => c.destroy());
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    t.after(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fs.rm(dir, { recursive: true, force: true });
    });
    assert.equal(await probeContainerd(`unix://${socket}`), undefined);
  });

  test('the error names the socket, the reason and what to do instead', () => {
    const e = containerdUnreachable('/run/c.sock', 'ENOENT', 'or run the control plane alone with --disable-agent');
    assert.equal(e.code, 'RUNTIME_FAILED');
    assert.equal(e.message, 'containerd is not reachable at /run/c.sock (ENOENT): start containerd, or run the control plane alone with --disable-agent');
  });
});

describe('explainAgentStartError', () => {
  test('says where the join failed for token, CA and name errors, keeping the code', () => {
    for (const code of ['TOKEN_INVALID', 'CA_MISMATCH', 'NODE_NAME_TAKEN'] as const) {
      const e = explainAgentStartError(new BrambleError(code, 'because'), 'cp:7443');
      assert.ok(e instanceof BrambleError);
      assert.equal(e.code, code);
      assert.equal(e.message, 'cannot join the cluster at cp:7443: because');
    }
  });

  test('passes other errors through unchanged', () => {
    const original = new BrambleError('RUNTIME_FAILED', 'ctr exited with 1');
    assert.equal(explainAgentStartError(original, 'cp:7443'), original);
  });
});

describe('resolveToken', () => {
  test('reads the token from --token-file, trimmed, so it never shows in the process list', async (t) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-token-'));
    t.after(() => fs.rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'token');
    await fs.writeFile(file, 'B10abc::id.secret\n', { mode: 0o600 });
    assert.equal(await resolveToken({ tokenFile: file }), 'B10abc::id.secret');
  });

  test('falls back to $BRAMBLE_TOKEN, and --token wins over it', async () => {
    assert.equal(await resolveToken({ envToken: ' from-env \n' }), 'from-env');
    assert.equal(await resolveToken({ token: 'from-flag', envToken: 'from-env' }), 'from-flag');
    assert.equal(await resolveToken({ envToken: '' }), undefined);
  });

  test('refuses both --token and --token-file, and names a file it cannot read', async () => {
    await assert.rejects(resolveToken({ token: 'a', tokenFile: '/x' }), (e) => e instanceof UsageError && /cannot both be given/.test(e.message));
    await assert.rejects(resolveToken({ tokenFile: '/nonexistent/token' }), (e) => e instanceof UsageError && /ENOENT.*"\/nonexistent\/token"/.test(e.message));
  });
});
