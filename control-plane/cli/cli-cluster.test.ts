import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterStatusResponse__Output } from '../../proto/generated/bramble/v1/ClusterStatusResponse.js';
import { printClusterStatus, statusAddresses } from './cli-cluster.js';
import { learnedServers as learnedFrom } from './cli-learn-members.js';

const NOW = Date.parse('2026-12-02T10:00:00Z');
const STATUS: ClusterStatusResponse__Output = {
  leader: 'cp1',
  members: [
    { name: 'cp1', address: '10.0.0.1:7443', role: 'leader', term: 4, commitIndex: 120, appliedIndex: 120, lag: 0, lastContact: '', error: '' },
    { name: 'cp2', address: '10.0.0.2:7443', role: 'follower', term: 4, commitIndex: 120, appliedIndex: 118, lag: 2, lastContact: '2026-12-02T09:59:58Z', error: '' },
    { name: 'cp3', address: '10.0.0.3:7443', role: '', term: 0, commitIndex: 0, appliedIndex: 0, lag: 0, lastContact: '', error: 'connection refused' },
  ],
};

describe('bramble cluster status', () => {
  test('a table has one row per member, with the leader\'s view of lag and last contact', () => {
    const lines = printClusterStatus(STATUS, 'table', NOW).stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+ADDRESS\s+ROLE\s+TERM\s+COMMIT\s+APPLIED\s+LAG\s+LAST CONTACT$/);
    assert.match(lines[1]!, /^cp1\s+10\.0\.0\.1:7443\s+leader\s+4\s+120\s+120\s+0\s+-$/);
    assert.match(lines[2]!, /^cp2\s+10\.0\.0\.2:7443\s+follower\s+4\s+120\s+118\s+2\s+2s ago$/);
    assert.match(lines[3]!, /^cp3\s+10\.0\.0\.3:7443\s+<unknown>\s+-\s+-\s+-\s+-\s+error: connection refused$/);
  });

  test('-o json has the documented fields, leaving out empty ones', () => {
    const doc = JSON.parse(printClusterStatus(STATUS, 'json', NOW).stdout) as { leader: string; members: Record<string, unknown>[] };
    assert.equal(doc.leader, 'cp1');
    assert.deepEqual(doc.members[1], { name: 'cp2', address: '10.0.0.2:7443', role: 'follower', term: 4, commitIndex: 120, appliedIndex: 118, lag: 2, lastContact: '2026-12-02T09:59:58Z' });
    assert.equal(doc.members[2]!.error, 'connection refused');
  });

  test('no leader is said on stderr', () => {
    assert.match(printClusterStatus({ ...STATUS, leader: '' }, 'table', NOW).stderr, /No leader/);
  });

  test('the members\' addresses replace the config\'s others, its own server first, and nothing changes when they match', () => {
    const members = STATUS.members;
    const learnedServers = (cfg: { server: string; servers?: string[] }, m: readonly { address: string; role: string }[]) => learnedFrom(cfg, statusAddresses(m));
    // The same members in another order: nothing to write.
    assert.equal(learnedServers({ server: '10.0.0.1:7443', servers: ['10.0.0.1:7443', '10.0.0.3:7443', '10.0.0.2:7443'] }, members), undefined);
    assert.deepEqual(learnedServers({ server: '10.0.0.1:7443' }, members), ['10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443']);
    assert.deepEqual(learnedServers({ server: '10.0.0.1:7443', servers: ['10.0.0.1:7443', '10.0.0.9:7443'] }, members), ['10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443']);
    assert.equal(learnedServers({ server: '10.0.0.1:7443', servers: ['10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443'] }, members), undefined);
    // Reached through a name the members do not advertise: it stays first.
    assert.deepEqual(learnedServers({ server: 'cp.lan:7443' }, members), ['cp.lan:7443', '10.0.0.1:7443', '10.0.0.2:7443', '10.0.0.3:7443']);
    assert.equal(learnedServers({ server: '10.0.0.1:7443' }, []), undefined);
    assert.equal(learnedServers({ server: '10.0.0.1:7443' }, [{ address: '', role: 'follower' }]), undefined);
    assert.equal(learnedServers({ server: '192.168.1.10:7443' }, [{ address: '127.0.0.1:7443', role: 'standalone' }]), undefined);
  });
});
