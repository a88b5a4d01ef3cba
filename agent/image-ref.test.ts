import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isBrambleError } from '../proto/util/errors.js';
import { isInsecureRegistry, normalizeImageRef, parseImageRef, platformOfArch } from './image-ref.js';

describe('image references', () => {
  test('short Docker Hub names get the docker.io registry, the library path and the latest tag', () => {
    assert.equal(normalizeImageRef('busybox'), 'docker.io/library/busybox:latest');
    assert.equal(normalizeImageRef('nginx:1.25'), 'docker.io/library/nginx:1.25');
    assert.equal(normalizeImageRef('grafana/grafana'), 'docker.io/grafana/grafana:latest');
    assert.equal(normalizeImageRef('index.docker.io/library/redis:7'), 'docker.io/library/redis:7');
  });

  test('names with a registry host keep it, with its port', () => {
    assert.equal(normalizeImageRef('127.0.0.1:5000/bramble/busybox:1'), '127.0.0.1:5000/bramble/busybox:1');
    assert.equal(normalizeImageRef('localhost/app'), 'localhost/app:latest');
    assert.equal(normalizeImageRef('ghcr.io/owner/app'), 'ghcr.io/owner/app:latest');
    assert.equal(normalizeImageRef('bramble.test/busybox:1'), 'bramble.test/busybox:1');
  });

  test('a digest is kept and no tag is invented beside it', () => {
    const d = 'sha256:' + 'a'.repeat(64);
    assert.equal(normalizeImageRef(`alpine@${d}`), `docker.io/library/alpine@${d}`);
    assert.deepEqual(parseImageRef(`alpine:3@${d}`).tag, '3');
  });

  test('uppercase repositories and empty names are INVALID_ARGUMENT errors naming the reference', () => {
    assert.throws(() => normalizeImageRef('Busybox'), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT') && e.message.includes('"Busybox"'));
    assert.throws(() => normalizeImageRef(':1'), (e: unknown) => isBrambleError(e, 'INVALID_ARGUMENT'));
  });

  test('only registries configured as insecure are pulled over plain HTTP', () => {
    assert.equal(isInsecureRegistry('registry.lan:5000/app', ['registry.lan:5000']), true);
    assert.equal(isInsecureRegistry('registry.lan:5000/app', ['http://registry.lan:5000/']), true);
    assert.equal(isInsecureRegistry('registry.lan/app', ['registry.lan:5000']), false);
    assert.equal(isInsecureRegistry('busybox', ['registry.lan:5000']), false);
  });

  test('Node architectures map to OCI platforms', () => {
    assert.equal(platformOfArch('arm64'), 'linux/arm64');
    assert.equal(platformOfArch('arm'), 'linux/arm');
    assert.equal(platformOfArch('x64'), 'linux/amd64');
    assert.throws(() => platformOfArch('mips'), /must be one of arm64, arm, x64: current value is mips/);
  });
});
