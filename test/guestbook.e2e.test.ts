// The Kubernetes documentation's guestbook (application/guestbook/: a Redis
// leader, two followers and three PHP frontends, each with its Service) applied
// unchanged to two boards on one LAN, and wired up as the documentation says:
// every Deployment becomes available, the Redis Services get their endpoints,
// frontends on both boards reach the leader and the followers by their Service
// names, and the frontend Service has an endpoint for each Pod it selects.
//
// The files are not in this repository (BRAMBLE_K8S_EXAMPLES names a copy of
// kubernetes/website content/en/examples; without it this skips), and no
// registry is reachable, so busybox stands in for the images under their names:
// Redis by a script that answers PING with +PONG on 6379, the PHP frontend by
// httpd with a CGI page that asks both Redis Services. What this shows is the
// cluster's part — scheduling, Services, Endpoints, DNS across boards — not
// Redis or PHP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Endpoints, Pod, Service } from '../proto/model.js';
import { startCluster, waitFor, type TestCluster } from './support/cluster.js';
import { waitForBoardReady } from './support/e2e-objects.js';
import { buildStandInImage, type StandInFile } from './support/busybox-image.js';
import { k8sExamplesDir, K8S_EXAMPLES_SKIP } from '../control-plane/testing/k8s-examples.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge') && existsSync('/usr/sbin/iptables');
const examples = k8sExamplesDir();

const REDIS: StandInFile = {
  path: 'usr/bin/redis-stand-in',
  content: '#!/bin/sh\n# Answers PING as Redis does, one connection at a time (nc -ll -e runs it per connection).\nwhile read -r line; do case "$line" in *PING*) echo "+PONG";; esac; done\n',
};
const FRONTEND_PAGE: StandInFile = {
  path: 'usr/bin/guestbook-page',
  content: [
    '#!/bin/sh',
    'echo "Content-Type: text/plain"',
    'echo',
    'echo "leader: $(echo PING | nc -w 2 redis-leader 6379)"',
    'echo "follower: $(echo PING | nc -w 2 redis-follower 6379)"',
    '',
  ].join('\n'),
};
const REDIS_COMMAND = 'exec nc -ll -p 6379 -e /usr/bin/redis-stand-in';
const FRONTEND_COMMAND = "mkdir -p /www/cgi-bin && cp /usr/bin/guestbook-page /www/cgi-bin/guestbook && hostname > /www/index.html && exec httpd -f -p 80 -h /www";

const STAND_INS = [
  { name: 'docker.io/library/redis:6.0.5', command: REDIS_COMMAND, files: [REDIS] },
  { name: 'us-docker.pkg.dev/google-samples/containers/gke/gb-redis-follower:v2', command: REDIS_COMMAND, files: [REDIS] },
  { name: 'docker.io/corelab/gb-frontend:v5', command: FRONTEND_COMMAND, files: [FRONTEND_PAGE] },
];

const FILES = [
  'redis-leader-deployment.yaml', 'redis-leader-service.yaml',
  'redis-follower-deployment.yaml', 'redis-follower-service.yaml',
  'frontend-deployment.yaml', 'frontend-service.yaml',
];

describe("the Kubernetes documentation's guestbook on two boards", {
  skip: (!canRun && 'needs root, containerd, iptables and the CNI plugins (scripts/install-test-deps.sh)') || (examples === undefined && K8S_EXAMPLES_SKIP),
}, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster({ boards: [{ name: 'ga' }, { name: 'gb' }], lan: true });
    for (const b of cluster.boards) {
      for (const s of STAND_INS) {
        const image = await buildStandInImage(s.name, s.command, s.files);
        const imported = await b.ctr(['images', 'import', image.tarPath]);
        assert.equal(imported.exitCode, 0, imported.stderr);
      }
      await waitForBoardReady(cluster, b.nodeName);
    }
  });

  after(async () => {
    await cluster?.close();
  });

  test('the six files apply unchanged and every Deployment becomes available', async () => {
    const r = await cluster.bramble(['apply', ...FILES.flatMap((f) => ['-f', path.join(examples!, 'application', 'guestbook', f)])]);
    assert.equal(r.code, 0, r.stderr);
    for (const d of ['redis-leader', 'redis-follower', 'frontend']) {
      const s = await cluster.bramble(['rollout', 'status', `deployment/${d}`, '--timeout', '120s']);
      assert.equal(s.code, 0, `${d}: ${s.stdout}${s.stderr}`);
    }
  });

  /** The Pods a Service's selector matches, as the endpoints controller sees them. */
  async function selected(service: string): Promise<Pod[]> {
    const svc = (await cluster.get<Service>('service', service))!;
    const selector = Object.entries(svc.spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    const r = await cluster.bramble(['get', 'pods', '-l', selector, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { items?: Pod[] }).items ?? [];
  }

  async function readyEndpoints(name: string, n: number): Promise<void> {
    await waitFor(`${n} ready endpoints of ${name}`, async () => {
      const ep = await cluster.get<Endpoints>('endpoints', name);
      const ips = (ep?.subsets ?? []).flatMap((s) => s.addresses ?? []);
      return ips.length === n ? true : undefined;
    }, { timeoutMs: 60_000 });
  }

  test('the Redis Services have their ready endpoints: 1 leader, 2 followers', async () => {
    await readyEndpoints('redis-leader', 1);
    await readyEndpoints('redis-follower', 2);
  });

  test('a frontend reaches the leader and the followers by their Service names, from both boards', async () => {
    const pods = JSON.parse((await cluster.bramble(['get', 'pods', '-l', 'tier=frontend', '-o', 'json'])).stdout) as { items: Pod[] };
    const nodes = new Set(pods.items.map((p) => p.spec.nodeName));
    assert.equal(nodes.size, 2, `the frontends are spread over both boards: ${[...nodes].join(', ')}`);
    for (const node of nodes) {
      const frontend = pods.items.find((p) => p.spec.nodeName === node)!.metadata.name;
      const page = await waitFor(`the guestbook page of ${frontend} to show both Redis answers`, async () => {
        const r = await cluster.bramble(['exec', frontend, '--', 'timeout', '10', 'wget', '-q', '-O', '-', 'http://localhost/cgi-bin/guestbook']);
        return r.code === 0 && /leader: \+PONG/.test(r.stdout) && /follower: \+PONG/.test(r.stdout) ? r.stdout : undefined;
      }, { timeoutMs: 60_000 });
      assert.match(page, /^leader: \+PONG\r?$/m);
      assert.match(page, /^follower: \+PONG\r?$/m);
    }
  });

  test('the frontend Service has an endpoint for each Pod its selector matches, and answers through its ClusterIP', async (t) => {
    // The copy's frontend files can be of different website versions (the Service
    // selecting app.kubernetes.io/name, the Deployment labelling app): Kubernetes
    // then gives the Service no endpoints either, and so must Bramble.
    const matched = await selected('frontend');
    await readyEndpoints('frontend', matched.length);
    if (matched.length === 0) {
      t.diagnostic('this copy\'s frontend-service.yaml selects no Pod of its frontend-deployment.yaml: no endpoints, as in Kubernetes');
      return;
    }
    const r = await waitFor('the frontend Service to answer', async () => {
      const out = await cluster.bramble(['exec', matched[0]!.metadata.name, '--', 'timeout', '10', 'wget', '-q', '-O', '-', 'http://frontend/cgi-bin/guestbook']);
      return out.code === 0 && /leader: \+PONG/.test(out.stdout) ? out.stdout : undefined;
    }, { timeoutMs: 60_000 });
    assert.match(r, /follower: \+PONG/);
  });
});
