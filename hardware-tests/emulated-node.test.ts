import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { emulatedNode, missingParts, nodeShimScript, optedOut, writeNodeShim } from './emulated-node.js';

describe('emulated Node.js layout', () => {
  test('arm64 runs under qemu-aarch64 and reports arm64; armhf under qemu-arm and reports arm', () => {
    const a = emulatedNode('arm64', '/c');
    assert.deepEqual(a, {
      arch: 'arm64', qemu: '/usr/bin/qemu-aarch64-static', node: '/c/arm64/node/bin/node', sysroot: '/c/arm64/sysroot',
      marker: '/c/arm64/complete', processArch: 'arm64', kubernetesArch: 'arm64',
    });
    const h = emulatedNode('armhf', '/c');
    assert.equal(h.qemu, '/usr/bin/qemu-arm-static');
    assert.equal(h.node, '/c/armhf/node/bin/node');
    assert.equal(h.kubernetesArch, 'arm');
  });

  test('nothing is missing when every file exists', () => {
    assert.deepEqual(missingParts(emulatedNode('arm64', '/c'), () => true), []);
  });

  test('a missing cache names each file and the script that fetches it', () => {
    const n = emulatedNode('armhf', '/c');
    const missing = missingParts(n, (f) => f === n.qemu);
    assert.equal(missing.length, 3);
    for (const m of missing) assert.match(m, /scripts\/fetch-arm-runtimes\.sh armhf/);
    assert.match(missing[0]!, /^\/c\/armhf\/complete /);
  });

  test('a missing qemu names the package', () => {
    const n = emulatedNode('arm64', '/c');
    assert.deepEqual(missingParts(n, (f) => f !== n.qemu), ['/usr/bin/qemu-aarch64-static (apt-get install qemu-user-static, or scripts/install-test-deps.sh)']);
  });

  test('the check is skipped only when BRAMBLE_SKIP_EMULATED_ARM is 1 or true', () => {
    assert.equal(optedOut({}), undefined);
    assert.equal(optedOut({ BRAMBLE_SKIP_EMULATED_ARM: '0' }), undefined);
    assert.equal(optedOut({ BRAMBLE_SKIP_EMULATED_ARM: '' }), undefined);
    assert.match(optedOut({ BRAMBLE_SKIP_EMULATED_ARM: '1' }) ?? '', /BRAMBLE_SKIP_EMULATED_ARM=1/);
    assert.match(optedOut({ BRAMBLE_SKIP_EMULATED_ARM: 'true' }) ?? '', /turned off/);
  });
});

describe('node shim', () => {
  test('execs qemu with the sysroot and the node binary, passing every argument through unchanged', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bramble-shim-test-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    // /bin/echo stands in for qemu: it prints what qemu would have been given.
    const n = { ...emulatedNode('arm64', "/it's cache"), qemu: '/bin/echo' };
    const file = await writeNodeShim(dir, n);
    const { stdout } = await promisify(execFile)(file, ['--flag', 'two words', '$HOME']);
    assert.equal(stdout, `-L /it's cache/arm64/sysroot /it's cache/arm64/node/bin/node --flag two words $HOME\n`);
    assert.match(nodeShimScript(n), /^#!\/bin\/sh\nexec /);
  });
});
