import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { JUMP_RULES, jumpDeleteLines, jumpInsertLine, missingJumpLines } from './iptables-jumps.js';

describe('jumps from the built-in chains', () => {
  test('jumps present in the saved tables are not inserted again; missing ones are', () => {
    const nat = [
      '*nat', ':PREROUTING ACCEPT [0:0]',
      '-A PREROUTING -m comment --comment "bramble service portals" -j BRAMBLE-SERVICES',
      '-A OUTPUT -j DOCKER', 'COMMIT',
    ].join('\n');
    const filter = '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "bramble service portals" -j BRAMBLE-SERVICES\n';
    const missing = missingJumpLines({ nat, filter });
    assert.deepEqual(missing.nat, [
      '-I OUTPUT -m comment --comment "bramble service portals" -j BRAMBLE-SERVICES',
      '-I POSTROUTING -m comment --comment "bramble postrouting rules" -j BRAMBLE-POSTROUTING',
    ]);
    assert.equal(missing.filter.length, JUMP_RULES.filter((j) => j.table === 'filter').length - 1);
    assert.ok(!missing.filter.includes(jumpInsertLine(JUMP_RULES[4]!)));
  });

  test('cleanup deletes every rule of a built-in chain jumping into a BRAMBLE- chain, highest position first, and nothing else', () => {
    const save = [
      '*filter', ':INPUT ACCEPT [0:0]',
      '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment "bramble externally-visible service portals" -j BRAMBLE-EXTERNAL-SERVICES',
      '-A FORWARD -j BRAMBLE-FORWARD',
      '-A FORWARD -j DOCKER-USER',
      '-A FORWARD -m comment --comment "an older bramble" -j BRAMBLE-SERVICES',
      '-A BRAMBLE-FORWARD -j ACCEPT',
      '-A KUBE-FORWARD -j BRAMBLE-FORWARD',
      'COMMIT',
    ].join('\n');
    assert.deepEqual(jumpDeleteLines(save), ['-D FORWARD 3', '-D FORWARD 1', '-D INPUT 2']);
  });
});
