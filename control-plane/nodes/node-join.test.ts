import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { NodeObject } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import { joinNode, podCidrAt, NODE_KEY_ANNOTATION, type JoinDeps } from './node-join.js';

function deps(overrides: Partial<JoinDeps> = {}): JoinDeps {
  return {
    store: createMemoryStore(),
    clock: new FakeClock(),
    verifyToken: async (t) => {
      if (t !== 'good') throw new BrambleError('TOKEN_INVALID', 'token is not valid');
    },
    signNodeCsr: async (csr, name) => `cert-for-${name}-${csr}`,
    csrKeyFingerprint: async (csr) => `fp-${csr}`,
    clusterCidr: '10.42.0.0/16',
    ...overrides,
  };
}

describe('joinNode', () => {
  test('pod CIDRs are the /24s of the cluster range in order', () => {
    assert.equal(podCidrAt('10.42.0.0/16', 0), '10.42.0.0/24');
    assert.equal(podCidrAt('10.42.0.0/16', 7), '10.42.7.0/24');
    assert.throws(() => podCidrAt('10.42.0.0/16', 256), /no \/24 number 256/);
  });

  test('a board with a good token gets a certificate, a Node object and its own pod CIDR', async () => {
    const d = deps();
    const a = await joinNode(d, 'good', 'pi-1', 'csrA');
    const b = await joinNode(d, 'good', 'pi-2', 'csrB');
    assert.equal(a.certificatePem, 'cert-for-pi-1-csrA');
    assert.equal(a.podCidr, '10.42.0.0/24');
    assert.equal(b.podCidr, '10.42.1.0/24');
    const node = d.store.get('Node', undefined, 'pi-1') as NodeObject;
    assert.equal(node.spec.podCIDR, '10.42.0.0/24');
    assert.equal(node.metadata.annotations?.[NODE_KEY_ANNOTATION], 'fp-csrA');
  });

  test('a bad token is refused and nothing is written', async () => {
    const d = deps();
    await assert.rejects(joinNode(d, 'bad', 'pi-1', 'csrA'), (e) => isBrambleError(e, 'TOKEN_INVALID'));
    assert.equal(d.store.revision(), 0);
  });

  test('a second board claiming an existing name with another key is refused and nothing changes', async () => {
    const d = deps();
    await joinNode(d, 'good', 'pi-1', 'csrA');
    const rev = d.store.revision();
    await assert.rejects(joinNode(d, 'good', 'pi-1', 'csrEvil'), (e) => isBrambleError(e, 'NODE_NAME_TAKEN') && /pi-1/.test(e.message));
    assert.equal(d.store.revision(), rev);
  });

  test('the same board joining again with its own key gets a new certificate and keeps its pod CIDR', async () => {
    const d = deps();
    await joinNode(d, 'good', 'pi-1', 'csrA');
    const again = await joinNode(d, 'good', 'pi-1', 'csrA');
    assert.equal(again.podCidr, '10.42.0.0/24');
  });

  test('an invalid node name is refused with the rule and the value', async () => {
    await assert.rejects(joinNode(deps(), 'good', 'Pi_1', 'csrA'), /RFC 1123.*"Pi_1"/);
  });

  test('boards joining at once get different pod CIDRs, and the full cluster CIDR refuses the next before signing', async () => {
    let signed = 0;
    const d = deps({ clusterCidr: '10.42.0.0/23', signNodeCsr: async (csr, name) => { signed++; return `cert-for-${name}-${csr}`; } });
    const [a, b] = await Promise.all([joinNode(d, 'good', 'pi-1', 'csrA'), joinNode(d, 'good', 'pi-2', 'csrB')]);
    assert.deepEqual([a.podCidr, b.podCidr].sort(), ['10.42.0.0/24', '10.42.1.0/24']);
    await assert.rejects(joinNode(d, 'good', 'pi-3', 'csrC'), (e) => isBrambleError(e, 'LIMIT_EXCEEDED') && /no free \/24 left/.test(e.message));
    assert.equal(signed, 2);
    assert.equal(d.store.get('Node', undefined, 'pi-3'), undefined);
  });

  test('a deleted node\'s pod CIDR goes to the next board that joins', async () => {
    const d = deps();
    await joinNode(d, 'good', 'pi-1', 'csrA');
    await joinNode(d, 'good', 'pi-2', 'csrB');
    await d.store.propose({ ops: [{ type: 'delete', kind: 'Node', name: 'pi-1' }] });
    const c = await joinNode(d, 'good', 'pi-3', 'csrC');
    assert.equal(c.podCidr, '10.42.0.0/24');
  });

  test('a Node made by hand without a pod CIDR gets one written when its board joins, and keeps it', async () => {
    const d = deps();
    await d.store.propose({ ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'pi-1', annotations: { [NODE_KEY_ANNOTATION]: 'fp-csrA' } }, spec: {} } }] });
    const first = await joinNode(d, 'good', 'pi-1', 'csrA');
    assert.equal(first.podCidr, '10.42.0.0/24');
    assert.equal((d.store.get('Node', undefined, 'pi-1') as NodeObject).spec.podCIDR, '10.42.0.0/24');
    const again = await joinNode(d, 'good', 'pi-1', 'csrA');
    assert.equal(again.podCidr, '10.42.0.0/24');
  });
});
