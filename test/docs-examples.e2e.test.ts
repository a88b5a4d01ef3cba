// The Kubernetes documentation's Job, CronJob and Pod examples, applied
// unchanged to a real board and run: the Job computes and completes, the
// sidecar Job completes with its sidecar still tailing, and the downward API,
// dependent variables and Secret examples show the values the documentation
// says they show. The files are not in this repository (what our tools fetch
// from other repositories stays out of our commits): BRAMBLE_K8S_EXAMPLES names
// a copy of kubernetes/website content/en/examples, and without it this skips.
//
// No registry is reachable here, so the images the files name are stood in for
// by busybox under those names, imported on the board: `perl` by a script that
// prints the digits perl would (the example's point is the Job, not perl),
// alpine and nginx by busybox itself. The untagged names default to
// imagePullPolicy Always, so each start also shows the board running its own
// copy when the registry cannot be reached.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Job, Pod } from '../proto/model.js';
import { startCluster, waitFor, type TestCluster } from './support/cluster.js';
import { waitForBoardReady } from './support/e2e-objects.js';
import { buildStandInImage, type StandInFile } from './support/busybox-image.js';
import { k8sExamplesDir, K8S_EXAMPLES_SKIP } from '../control-plane/testing/k8s-examples.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');
const examples = k8sExamplesDir();

const PI = '3.14159265358979323846264338327950288419716939937510';
const PERL: StandInFile = { path: 'usr/bin/perl', content: `#!/bin/sh\n# Stands in for: perl -Mbignum=bpi -wle 'print bpi(N)'\necho ${PI}\n` };

/** The names the examples ask for, as containerd spells them, and what stands in for each. */
const STAND_INS: { name: string; command: string; files?: StandInFile[] }[] = [
  { name: 'docker.io/library/perl:latest', command: 'perl', files: [PERL] },
  { name: 'docker.io/library/alpine:latest', command: 'sh' },
  { name: 'docker.io/library/busybox:latest', command: 'sh' },
  { name: 'registry.k8s.io/busybox:1.27.2', command: 'sh' },
  { name: 'docker.io/library/nginx:latest', command: `trap 'exit 0' TERM; httpd -f -p 80 -h /var/www & wait` },
];

describe("the Kubernetes documentation's Job and Pod examples run unchanged on a real board", {
  skip: (!canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)') || (examples === undefined && K8S_EXAMPLES_SKIP),
}, () => {
  let cluster: TestCluster;
  let nodeName: string;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'dx' }] });
    const board = cluster.boards[0]!;
    nodeName = board.nodeName;
    for (const s of STAND_INS) {
      const image = await buildStandInImage(s.name, s.command, s.files);
      const imported = await board.ctr(['images', 'import', image.tarPath]);
      assert.equal(imported.exitCode, 0, imported.stderr);
    }
    await waitForBoardReady(cluster, nodeName);
  });

  after(async () => {
    await cluster?.close();
  });

  async function apply(...files: string[]): Promise<void> {
    const r = await cluster.bramble(['apply', ...files.flatMap((f) => ['-f', path.join(examples!, f)])]);
    assert.equal(r.code, 0, `apply ${files.join(' ')}: ${r.stderr}`);
  }

  function jobComplete(name: string): Promise<Job> {
    return waitFor(`job ${name} to complete`, async () => {
      const job = (await cluster.get('job', name)) as Job | undefined;
      const failed = job?.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
      if (failed) throw new Error(`job ${name} failed: ${failed.reason}: ${failed.message}`);
      return job?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? job : undefined;
    }, { timeoutMs: 90_000, intervalMs: 500 });
  }

  /** Waits until `bramble logs ARGS` prints what `ok` accepts, and returns it. */
  function logsUntil(args: string[], ok: (out: string) => boolean): Promise<string> {
    let last = '';
    return waitFor(`bramble logs ${args.join(' ')} to show the expected values`, async () => {
      const r = await cluster.bramble(['logs', ...args]);
      last = `${r.stdout}${r.stderr}`;
      return r.code === 0 && ok(r.stdout) ? r.stdout : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500, describe: () => `last output: ${last}` });
  }

  test('controllers/job.yaml: the pi Job runs to completion and its log holds the digits', async () => {
    await apply('controllers/job.yaml');
    const job = await jobComplete('pi');
    assert.equal(job.status?.succeeded, 1);
    const out = await logsUntil(['job/pi'], (o) => o.includes('3.14159'));
    assert.ok(out.startsWith(PI), out);
  });

  test('application/job/job-sidecar.yaml: the Job completes while its native sidecar tails what the main container wrote', async () => {
    await apply('application/job/job-sidecar.yaml');
    await jobComplete('myjob');
    const out = await logsUntil(['job/myjob', '-c', 'logshipper'], (o) => o.includes('logging'));
    assert.match(out, /^logging$/m);
  });

  test('pods/inject/dapi-envars-pod.yaml: the container prints its node, name, namespace, IP and service account', async () => {
    await apply('pods/inject/dapi-envars-pod.yaml');
    const pod = await waitFor('the pod to have an IP', async () => {
      const p = (await cluster.get('pod', 'dapi-envars-fieldref')) as Pod | undefined;
      return p?.status?.podIP ? p : undefined;
    }, { timeoutMs: 60_000 });
    const out = await logsUntil(['dapi-envars-fieldref'], (o) => o.includes(pod.status!.podIP!));
    const lines = out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    assert.deepEqual(lines.slice(0, 5), [nodeName, 'dapi-envars-fieldref', 'default', pod.status!.podIP!, 'default']);
  });

  test('pods/inject/dapi-envars-container.yaml: the container prints its CPU and memory requests and limits', async () => {
    await apply('pods/inject/dapi-envars-container.yaml');
    const out = await logsUntil(['dapi-envars-resourcefieldref'], (o) => o.includes('67108864'));
    const lines = out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    // 125m and 250m round up to whole cores (divisor 1), as in Kubernetes; 32Mi and 64Mi in bytes.
    assert.deepEqual(lines.slice(0, 4), ['1', '1', '33554432', '67108864']);
  });

  test('pods/inject/dependent-envars.yaml: $(VAR) references expand in order and $$ escapes one', async () => {
    await apply('pods/inject/dependent-envars.yaml');
    const out = await logsUntil(['dependent-envars-demo'], (o) => o.includes('ESCAPED_REFERENCE'));
    const lines = out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    // UNCHANGE_REFERENCE is the documentation's own typo: printenv finds nothing for it.
    assert.deepEqual(lines.slice(0, 4), ['SERVICE_ADDRESS', 'https://172.17.0.1:80', 'UNCHANGE_REFERENCE', 'ESCAPED_REFERENCE']);
    assert.equal(lines[4], '$(PROTOCOL)://172.17.0.1:80');
  });

  test('pods/inject/secret.yaml with secret-envars-pod.yaml and pod-secret-envFrom.yaml: the Secret reaches the containers by key and whole', async () => {
    await apply('pods/inject/secret.yaml', 'pods/inject/secret-envars-pod.yaml', 'pods/inject/pod-secret-envFrom.yaml');
    const exec = async (pod: string, name: string): Promise<string> => waitFor(`${name} in ${pod}`, async () => {
      const r = await cluster.bramble(['exec', pod, '--', 'printenv', name]);
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    assert.equal(await exec('secret-envars-test-pod', 'SECRET_USERNAME'), 'my-app');
    assert.equal(await exec('secret-envars-test-pod', 'SECRET_PASSWORD'), '39528$vdg7Jb');
    assert.equal(await exec('envfrom-secret', 'username'), 'my-app');
    assert.equal(await exec('envfrom-secret', 'password'), '39528$vdg7Jb');
  });
});
