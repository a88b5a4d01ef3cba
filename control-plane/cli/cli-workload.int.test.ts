// The workload commands (scale, set image, rollout) against a real `bramble
// server` and the compiled CLI. The server runs only the scheduler: no
// ReplicaSet, Deployment or DaemonSet controller and no garbage collector, so
// every stored object is exactly what the CLI (or the test) wrote, and ReplicaSets
// the test applies by hand stand in for a Deployment's history. A positive list
// rather than "*,-..." keeps controllers added later off too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs/promises';
import os from 'node:os';
import type { KObject, PodTemplateSpec } from '../../proto/model.js';
import { explain, runBramble, startServerProcess, type CliResult, type ServerProcess } from '../../test/support/server-process.js';

const CONTROLLERS = ['--controllers', 'scheduler'];

function deploymentManifest(name: string, extra = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  annotations: {team: blue}
spec:
  replicas: 2
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      initContainers:
        - {name: setup, image: "busybox:1"}
      containers:
        - {name: app, image: "web:1"}
        - {name: sidecar, image: "proxy:1"}
${extra}`;
}

const DAEMONSET = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
        - {name: log, image: "fluent:1"}
`;

/** A ReplicaSet as the Deployment controller makes it: owned by uid, hash label, revision annotation. */
function replicaSetManifest(owner: KObject, hash: string, revision: number, image: string, cause?: string): string {
  const template = structuredClone((owner.spec as { template: PodTemplateSpec }).template);
  template.metadata = { labels: { ...template.metadata?.labels, 'pod-template-hash': hash } };
  template.spec.containers[0]!.image = image;
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${owner.metadata.name}-${hash}`,
      labels: template.metadata.labels,
      annotations: { 'deployment.kubernetes.io/revision': String(revision), ...(cause && { 'kubernetes.io/change-cause': cause }) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: { replicas: 0, selector: { matchLabels: template.metadata.labels }, template },
  });
}

describe('workload commands against a running server', { concurrency: 4 }, () => {
  let server: ServerProcess;
  let dir: string;

  before(async () => {
    server = await startServerProcess({ extraArgs: CONTROLLERS });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-workload-test-'));
  });
  after(async () => {
    await server?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const bramble = (...args: string[]): Promise<CliResult> => runBramble(['--config', server.configPath, ...args]);
  const apply = async (name: string, text: string): Promise<void> => {
    const file = path.join(dir, name);
    await fs.writeFile(file, text);
    const r = await bramble('apply', '-f', file);
    assert.equal(r.code, 0, explain(r));
  };
  const stored = async (kind: string, name: string): Promise<KObject> => {
    const r = await bramble('get', kind, name, '-o', 'json');
    assert.equal(r.code, 0, explain(r));
    return JSON.parse(r.stdout) as KObject;
  };
  const expectFailure = (r: CliResult, code: number, message: RegExp): void => {
    assert.equal(r.code, code, explain(r));
    assert.match(r.stderr, message, explain(r));
    assert.equal(r.stdout, '', explain(r));
  };
  const templateOf = (o: KObject): PodTemplateSpec => (o.spec as { template: PodTemplateSpec }).template;

  test('scale sets spec.replicas in both argument forms and refuses bad counts, other kinds and failed preconditions', async () => {
    await apply('scale.yaml', deploymentManifest('scaled'));
    const first = await stored('deploy', 'scaled');

    const up = await bramble('scale', 'deploy/scaled', '--replicas', '5');
    assert.equal(up.code, 0, explain(up));
    assert.equal(up.stdout, 'deployment.apps/scaled scaled\n');
    const afterUp = await stored('deploy', 'scaled');
    assert.equal((afterUp.spec as { replicas: number }).replicas, 5);
    assert.equal(afterUp.metadata.generation, (first.metadata.generation ?? 1) + 1, 'a spec change bumps the generation');
    assert.equal(afterUp.metadata.annotations?.team, 'blue', 'the rest of the object is kept');

    const down = await bramble('scale', 'deployment', 'scaled', '--replicas', '0');
    assert.equal(down.code, 0, explain(down));
    assert.equal(((await stored('deploy', 'scaled')).spec as { replicas: number }).replicas, 0);

    expectFailure(await bramble('scale', 'deploy/scaled', '--replicas', '-1'), 2, /--replicas must be a whole number, 0 or more: current value is "-1"/);
    expectFailure(await bramble('scale', 'deploy/scaled', '--replicas', '1.5'), 2, /--replicas must be a whole number/);
    expectFailure(await bramble('scale', 'deploy/scaled'), 2, /--replicas is required/);
    expectFailure(await bramble('scale', 'ds/agent', '--replicas', '1'), 2, /scale supports deployments and replicasets: "ds\/agent" is a DaemonSet/);
    expectFailure(await bramble('scale', 'deploy/scaled', '--replicas', '3', '--current-replicas', '7'), 1, /has 0 replicas, not 7 as --current-replicas requires/);
    expectFailure(await bramble('scale', 'deploy/scaled', '--replicas', '3', '--resource-version', '1'), 1, /not "1" as --resource-version requires/);
    expectFailure(await bramble('scale', 'deploy/missing', '--replicas', '3'), 1, /not found/);
    assert.equal(((await stored('deploy', 'scaled')).spec as { replicas: number }).replicas, 0, 'refused scales wrote nothing');
  });

  test('set image changes named containers (init ones too) or all with *, and names an unknown container with the ones there are', async () => {
    await apply('image.yaml', deploymentManifest('imaged'));

    const one = await bramble('set', 'image', 'deploy/imaged', 'sidecar=proxy:2', 'setup=busybox:2');
    assert.equal(one.code, 0, explain(one));
    assert.equal(one.stdout, 'deployment.apps/imaged image updated\n');
    const spec = templateOf(await stored('deploy', 'imaged')).spec;
    assert.deepEqual([...spec.initContainers!, ...spec.containers].map((c) => `${c.name}=${c.image}`), ['setup=busybox:2', 'app=web:1', 'sidecar=proxy:2']);

    const all = await bramble('set', 'image', 'deployment', 'imaged', '*=all:3');
    assert.equal(all.code, 0, explain(all));
    const allSpec = templateOf(await stored('deploy', 'imaged')).spec;
    assert.deepEqual([...allSpec.initContainers!, ...allSpec.containers].map((c) => c.image), ['all:3', 'all:3', 'all:3']);

    const before = (await stored('deploy', 'imaged')).metadata.resourceVersion;
    expectFailure(await bramble('set', 'image', 'deploy/imaged', 'ap=web:9'), 1,
      /deployment.apps\/imaged has no container named "ap": its containers are app, sidecar; init containers: setup/);
    expectFailure(await bramble('set', 'image', 'deploy/imaged'), 2, /at least one CONTAINER=IMAGE/);
    expectFailure(await bramble('set', 'image', 'po/imaged', 'app=x:1'), 2, /set image does not change Pods/);
    assert.equal((await stored('deploy', 'imaged')).metadata.resourceVersion, before, 'a refused set image wrote nothing');
  });

  test('rollout pause, resume and restart change spec.paused and the template annotation, with kubectl\'s messages', async () => {
    await apply('pause.yaml', deploymentManifest('paused'));

    const pause = await bramble('rollout', 'pause', 'deploy/paused');
    assert.equal(pause.stdout, 'deployment.apps/paused paused\n', explain(pause));
    assert.equal(((await stored('deploy', 'paused')).spec as { paused?: boolean }).paused, true);
    assert.equal((await bramble('rollout', 'pause', 'deploy/paused')).stdout, 'deployment.apps/paused already paused\n');
    expectFailure(await bramble('rollout', 'restart', 'deploy/paused'), 1, /can't restart paused deployment.apps\/paused/);

    const resume = await bramble('rollout', 'resume', 'deployment', 'paused');
    assert.equal(resume.stdout, 'deployment.apps/paused resumed\n', explain(resume));
    assert.equal(((await stored('deploy', 'paused')).spec as { paused?: boolean }).paused, undefined);

    const restart = await bramble('rollout', 'restart', 'deploy/paused');
    assert.equal(restart.stdout, 'deployment.apps/paused restarted\n', explain(restart));
    const at = templateOf(await stored('deploy', 'paused')).metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
    assert.match(at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Math.abs(Date.parse(at!) - Date.now()) < 60_000, `restartedAt ${at} is now`);
  });

  test('a DaemonSet can be restarted but not paused, and has no history to show or undo', async () => {
    await apply('ds.yaml', DAEMONSET);
    const restart = await bramble('rollout', 'restart', 'ds/agent');
    assert.equal(restart.stdout, 'daemonset.apps/agent restarted\n', explain(restart));
    assert.ok(templateOf(await stored('ds', 'agent')).metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']);
    expectFailure(await bramble('rollout', 'pause', 'ds/agent'), 1, /daemonsets.apps "agent" pausing is not supported/);
    expectFailure(await bramble('rollout', 'resume', 'ds/agent'), 1, /daemonsets.apps "agent" resuming is not supported/);
    expectFailure(await bramble('rollout', 'history', 'ds/agent'), 2, /Bramble keeps no DaemonSet revisions .*ControllerRevision/);
    expectFailure(await bramble('rollout', 'undo', 'ds/agent'), 2, /Bramble keeps no DaemonSet revisions/);
    expectFailure(await bramble('rollout', 'status', 'po/agent'), 2, /rollout status supports deployments and daemonsets/);
  });

  test('rollout history and undo read the Deployment\'s ReplicaSets; with no history undo fails', async () => {
    await apply('history.yaml', deploymentManifest('hist'));
    const empty = await bramble('rollout', 'history', 'deploy/hist');
    assert.equal(empty.stdout, 'No rollout history found for deployment.apps/hist.\n', explain(empty));
    expectFailure(await bramble('rollout', 'undo', 'deploy/hist'), 1, /no rollout history found for deployment.apps\/hist/);

    const owner = await stored('deploy', 'hist');
    // JSON is YAML: one document per ReplicaSet.
    await apply('history-rs.yaml', [
      replicaSetManifest(owner, 'aaa', 1, 'web:0', 'first'),
      replicaSetManifest(owner, 'bbb', 2, 'web:1'),
    ].join('\n---\n'));

    const history = await bramble('rollout', 'history', 'deploy/hist');
    assert.equal(history.stdout, 'deployment.apps/hist\nREVISION   CHANGE-CAUSE\n1          first\n2          <none>\n', explain(history));
    const one = await bramble('rollout', 'history', 'deploy/hist', '--revision', '1');
    assert.match(one.stdout, /^deployment.apps\/hist with revision #1\nPod Template:\n/, explain(one));
    assert.match(one.stdout, /image: web:0/);
    expectFailure(await bramble('rollout', 'history', 'deploy/hist', '--revision', '7'), 1, /has no revision 7 in its history: its revisions are 1, 2/);

    const undo = await bramble('rollout', 'undo', 'deploy/hist');
    assert.equal(undo.stdout, 'deployment.apps/hist rolled back\n', explain(undo));
    const rolledBack = await stored('deploy', 'hist');
    assert.equal(templateOf(rolledBack).spec.containers[0]!.image, 'web:0');
    assert.deepEqual(templateOf(rolledBack).metadata?.labels, { app: 'hist' }, 'the pod-template-hash label is not copied');
    assert.equal(rolledBack.metadata.annotations?.team, 'blue');
    assert.equal(rolledBack.metadata.annotations?.['kubernetes.io/change-cause'], 'first');

    const again = await bramble('rollout', 'undo', 'deploy/hist', '--to-revision', '1');
    assert.equal(again.stdout, 'deployment.apps/hist skipped rollback (current template already matches revision 1)\n', explain(again));
    expectFailure(await bramble('rollout', 'undo', 'deploy/hist', '--to-revision', 'two'), 2, /--to-revision must be a revision number/);

    const described = await bramble('describe', 'deploy/hist');
    assert.equal(described.code, 0, explain(described));
    assert.match(described.stdout, /^Replicas: +2 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable$/m);
    assert.match(described.stdout, /^NewReplicaSet: +hist-aaa \(0\/0 replicas created\)$/m);
  });

  test('rollout status of a Deployment nobody reconciles times out with a non-zero exit', async () => {
    await apply('status.yaml', deploymentManifest('stuck'));
    const r = await bramble('rollout', 'status', 'deploy/stuck', '--timeout', '2s');
    assert.equal(r.code, 1, explain(r));
    assert.equal(r.stdout, 'Waiting for deployment spec update to be observed...\n');
    assert.match(r.stderr, /^error: timed out after 2s waiting for deployment "stuck" rollout to finish/);

    const once = await bramble('rollout', 'status', 'deploy/stuck', '--watch=false');
    assert.equal(once.code, 0, explain(once));
    assert.equal(once.stdout, 'Waiting for deployment spec update to be observed...\n');
    expectFailure(await bramble('rollout', 'status', 'deploy/stuck', '--timeout', 'soon'), 2, /--timeout must be a duration/);
    expectFailure(await bramble('rollout', 'status', 'deploy/nothing', '--timeout', '2s'), 1, /not found/);
  });
});
