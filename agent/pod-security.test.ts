import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod } from '../proto/model.js';
import { DEFAULT_CAPABILITIES, runAsNonRootProblem, securityArgs, securityFor, withUser } from './pod-security.js';

const podWith = (podSc: Pod['spec']['securityContext'], sc?: Container['securityContext']): [Pod, Container] => {
  const c: Container = { name: 'app', image: 'busybox', securityContext: sc };
  return [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop', uid: 'u1' }, spec: { containers: [c], securityContext: podSc } }, c];
};

describe('securityFor', () => {
  test('no securityContext: no user, writable root, default capabilities, escalation allowed as in Kubernetes', () => {
    assert.deepEqual(securityFor(...podWith(undefined)), { readOnlyRootFilesystem: false, privileged: false, capAdd: [], capDrop: [], allowPrivilegeEscalation: true });
  });

  test('the container runAsUser and runAsGroup win over the pod ones; supplementalGroups come from the pod', () => {
    const s = securityFor(...podWith({ runAsUser: 1, runAsGroup: 2, supplementalGroups: [5] }, { runAsUser: 1000 }));
    assert.deepEqual(s.user, { uid: 1000, gid: 2, supplementalGroups: [5] });
  });

  test('runAsUser without runAsGroup runs with group 0', () => {
    assert.deepEqual(securityFor(...podWith({ runAsUser: 1000 })).user, { uid: 1000, gid: 0 });
  });

  test('runAsGroup alone keeps the image user', () => {
    assert.deepEqual(securityFor(...podWith(undefined, { runAsGroup: 7 })).user, { gid: 7 });
  });

  test('capabilities get their CAP_ prefix; allowPrivilegeEscalation false is kept unless privileged', () => {
    const s = securityFor(...podWith(undefined, { capabilities: { add: ['net_admin', 'CAP_SYS_TIME'], drop: ['KILL'] }, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true }));
    assert.deepEqual([s.capAdd, s.capDrop, s.allowPrivilegeEscalation, s.readOnlyRootFilesystem], [['CAP_NET_ADMIN', 'CAP_SYS_TIME'], ['CAP_KILL'], false, true]);
    assert.equal(securityFor(...podWith(undefined, { privileged: true })).allowPrivilegeEscalation, true);
  });

  test('drop ALL takes away every default capability except those added back', () => {
    const s = securityFor(...podWith(undefined, { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } }));
    assert.deepEqual(s.capAdd, ['CAP_NET_BIND_SERVICE']);
    assert.deepEqual(new Set(s.capDrop), new Set(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_NET_BIND_SERVICE')));
  });

  test('add ALL adds every capability, named drops still apply', () => {
    const s = securityFor(...podWith(undefined, { capabilities: { add: ['ALL'], drop: ['SYS_ADMIN'] } }));
    assert.ok(s.capAdd.includes('CAP_SYS_ADMIN') && s.capAdd.includes('CAP_BPF'));
    assert.deepEqual(s.capDrop, ['CAP_SYS_ADMIN']);
  });

  test('securityArgs lists the ctr flags in a stable order', () => {
    assert.deepEqual(securityArgs({ readOnlyRootFilesystem: true, privileged: false, capAdd: ['CAP_A'], capDrop: ['CAP_B'], allowPrivilegeEscalation: false }),
      ['--read-only', '--cap-add', 'CAP_A', '--cap-drop', 'CAP_B']);
  });
});

describe('runAsNonRootProblem', () => {
  const check = (podSc: Pod['spec']['securityContext'], sc: Container['securityContext'], imageUser: string) =>
    runAsNonRootProblem(...podWith(podSc, sc), () => imageUser);

  test('without runAsNonRoot nothing is checked', () => {
    assert.equal(check(undefined, { runAsUser: 0 }, ''), undefined);
  });

  test('an explicit runAsUser 0 breaks the policy; a non-zero one passes whatever the image says', () => {
    assert.match(check({ runAsNonRoot: true }, { runAsUser: 0 }, '') ?? '', /runAsUser breaks non-root policy \(pod: "p_shop\(u1\)", container: app\)/);
    assert.equal(check({ runAsNonRoot: true, runAsUser: 1000 }, undefined, 'root'), undefined);
  });

  test('without runAsUser, an image with no USER or USER 0 runs as root and is refused', () => {
    assert.match(check(undefined, { runAsNonRoot: true }, '') ?? '', /image will run as root/);
    assert.match(check(undefined, { runAsNonRoot: true }, '0:0') ?? '', /image will run as root/);
  });

  test('a user name in the image cannot be verified and is refused; a numeric non-zero uid passes', () => {
    assert.match(check(undefined, { runAsNonRoot: true }, 'nginx') ?? '', /non-numeric user \(nginx\), cannot verify/);
    assert.equal(check(undefined, { runAsNonRoot: true }, '101:101'), undefined);
  });

  test('the container runAsNonRoot false overrides the pod true', () => {
    assert.equal(check({ runAsNonRoot: true }, { runAsNonRoot: false }, ''), undefined);
  });
});

describe('withUser', () => {
  const spec = { ociVersion: '1.0.2', process: { args: ['sh'], user: { uid: 0, gid: 0, additionalGids: [0, 10], username: 'root' } } };

  test('a new uid replaces the user and drops the image user groups and name', () => {
    assert.deepEqual(withUser(spec, { uid: 1000, gid: 0 }).process, { args: ['sh'], user: { uid: 1000, gid: 0 } });
  });

  test('supplemental groups are added; the same uid keeps its image groups', () => {
    assert.deepEqual((withUser(spec, { gid: 5, supplementalGroups: [10, 20] }).process as { user: unknown }).user, { uid: 0, gid: 5, additionalGids: [0, 10, 20] });
  });

  test('the rest of the spec is untouched', () => {
    const out = withUser(spec, { uid: 1 });
    assert.equal(out.ociVersion, '1.0.2');
    assert.deepEqual(spec.process.user.uid, 0, 'the input is not modified');
  });
});
