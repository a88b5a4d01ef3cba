// Services against a real server (LevelDB store, gRPC over TLS, every controller):
// cluster IPs and node ports allocated at apply and kept across a restart, the
// cluster DNS Service, and Endpoints following the Pods a real Deployment makes.
// No board runs here, so the test writes the Pods' node, IP and readiness the way
// an agent's status report would.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fromServiceError, isBrambleError } from '../proto/util/errors.js';
import { loadProto, type ClusterClient } from '../proto/load.js';
import { silentLogger } from '../proto/util/log.js';
import type { Endpoints, KObject, Pod, Service } from '../proto/model.js';
import { clientCredentials, readClientConfig, writeClientConfig } from './pki/client-config.js';
import { startServer, type RunningServer } from './server.js';
import { retryOnConflict } from './store/retry-on-conflict.js';
import { explain, runBramble } from '../test/support/server-process.js';

type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown;

function call<Req, Res>(client: ClusterClient, fn: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const SERVICE = (name: string, extra: Record<string, unknown> = {}) => JSON.stringify({
  apiVersion: 'v1', kind: 'Service', metadata: { name },
  spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }], ...extra },
});

const DEPLOYMENT = JSON.stringify({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
  spec: {
    replicas: 2, selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }] }] } },
  },
});

describe('Services on a real server', () => {
  let dir: string;
  let server: RunningServer;
  let client: ClusterClient;
  const Cluster = loadProto().bramble.v1.Cluster;

  const start = async (): Promise<void> => {
    server = await startServer({ dataDir: path.join(dir, 'data'), grpcAddr: '127.0.0.1:0', httpAddr: '127.0.0.1:0', logger: silentLogger() });
    const cfg = await readClientConfig(path.join(server.dataDir, 'admin.conf'));
    client = new Cluster(`127.0.0.1:${server.grpcPort}`, clientCredentials(cfg));
  };
  const stop = async (): Promise<void> => {
    client?.close();
    await server?.close();
  };
  const apply = async (...objects: string[]) => (await call(client, client.apply, { objects })).results.map((r) => JSON.parse(r.object) as KObject);
  const get = async <T extends KObject>(kind: string, name: string, namespace = 'default'): Promise<T | undefined> => {
    try {
      return JSON.parse((await call(client, client.get, { kind, namespace, name })).object) as T;
    } catch (e) {
      if ((e as grpc.ServiceError).code === grpc.status.NOT_FOUND) return undefined;
      throw e;
    }
  };
  /** What an agent's status report would write: the Pod on a board, with an IP, (not) ready. */
  const runPod = async (pod: Pod, ip: string, ready: boolean): Promise<void> => {
    // The scheduler writes these Pods too (no board is Ready), so read-modify-write as any writer does;
    // a LevelDB store shows a write only once it is durable, so a burst of them can outlast the retries.
    await waitFor('the Pod status to be written', async () => {
      try {
        await retryOnConflict<Pod>(server.store, { kind: 'Pod', namespace: 'default', name: pod.metadata.name }, (current) => ({
          ...current,
          spec: { ...current.spec, nodeName: 'pi-1' },
          status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
        }));
        return true;
      } catch (e) {
        if (isBrambleError(e, 'CONFLICT')) return undefined;
        throw e;
      }
    });
  };

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-services-int-'));
    await start();
    // The board the test's Pods are said to run on (the scheduler reports Pods bound to a missing node).
    await apply(JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'pi-1' }, spec: { podCIDR: '10.42.0.0/24' } }));
  });
  after(async () => {
    await stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('a new cluster has kube-system/kube-dns on the service CIDR\'s first address, port 53 over UDP and TCP', async () => {
    const dns = (await get<Service>('svc', 'kube-dns', 'kube-system'))!;
    assert.equal(dns.spec.clusterIP, '10.43.0.1');
    assert.deepEqual(dns.spec.ports.map((p) => `${p.name}:${p.port}/${p.protocol}`), ['dns:53/UDP', 'dns-tcp:53/TCP']);
    assert.equal(dns.spec.selector, undefined);
  });

  test('a NodePort Service gets an address and a node port, Endpoints follow its Deployment\'s Pods, and a restart hands nothing out twice', async () => {
    const [svc] = (await apply(SERVICE('web'), DEPLOYMENT)) as Service[];
    assert.equal(svc!.spec.clusterIP, '10.43.0.2');
    const nodePort = svc!.spec.ports[0]!.nodePort!;
    assert.ok(nodePort >= 30000 && nodePort <= 32767, String(nodePort));

    // The same node port asked for by another Service is refused with the field, and nothing is written.
    await assert.rejects(apply(SERVICE('copy', { ports: [{ name: 'http', port: 80, nodePort }] })), (e: grpc.ServiceError) => {
      const err = fromServiceError(e);
      assert.equal(err.code, 'VALIDATION_FAILED');
      assert.equal(err.details[0]!.path, 'spec.ports[0].nodePort');
      assert.match(err.message, new RegExp(`is already allocated to service "default/web": current value is ${nodePort}`));
      return true;
    });
    assert.equal(await get('svc', 'copy'), undefined);

    const pods = await waitFor('the Deployment\'s two Pods', () => {
      const items = server.store.list('Pod', 'default').items as Pod[];
      return items.length === 2 ? items : undefined;
    });
    await runPod(pods[0]!, '10.42.0.5', true);
    await runPod(pods[1]!, '10.42.0.6', false);
    const ep = await waitFor('the Endpoints', async () => {
      const e = await get<Endpoints>('endpoints', 'web');
      return e?.subsets?.[0]?.addresses && e.subsets[0].notReadyAddresses ? e : undefined;
    });
    assert.deepEqual(ep.subsets, [{
      addresses: [{ ip: '10.42.0.5', nodeName: 'pi-1', targetRef: { kind: 'Pod', namespace: 'default', name: pods[0]!.metadata.name, uid: pods[0]!.metadata.uid } }],
      notReadyAddresses: [{ ip: '10.42.0.6', nodeName: 'pi-1', targetRef: { kind: 'Pod', namespace: 'default', name: pods[1]!.metadata.name, uid: pods[1]!.metadata.uid } }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    }]);

    await stop();
    await start();
    // Re-applying the manifest that never named an address or port keeps both.
    const [again] = (await call(client, client.apply, { objects: [SERVICE('web')] })).results;
    assert.equal(again!.action, 'unchanged');
    const [other] = (await apply(SERVICE('other'))) as Service[];
    assert.equal(other!.spec.clusterIP, '10.43.0.3');
    assert.notEqual(other!.spec.ports[0]!.nodePort, nodePort);

    await call(client, client.delete, { kind: 'svc', namespace: 'default', name: 'web' });
    await waitFor('the Endpoints to go with their Service', async () => ((await get('endpoints', 'web')) === undefined ? true : undefined));
  });

  test('a LoadBalancer Service is also given a node port and shows no ingress while no board is Ready', async () => {
    const [lb] = (await apply(SERVICE('lb', { type: 'LoadBalancer' }))) as Service[];
    assert.ok(lb!.spec.ports[0]!.nodePort);
    assert.equal(lb!.status, undefined);
  });

  test('the CLI lists Services with kubectl\'s columns and describes one with its endpoints', async () => {
    await apply(SERVICE('shown'));
    const pods = server.store.list('Pod', 'default').items as Pod[];
    await runPod(pods[0]!, '10.42.0.5', true);
    await waitFor('the Endpoints of "shown"', async () => ((await get<Endpoints>('ep', 'shown'))?.subsets?.[0]?.addresses ? true : undefined));
    // admin.conf names the first start's port; the restarted server listens on another.
    const config = path.join(dir, 'cli.conf');
    await writeClientConfig(config, { ...(await readClientConfig(path.join(server.dataDir, 'admin.conf'))), server: `127.0.0.1:${server.grpcPort}` });
    const bramble = (args: string[]) => runBramble(['--config', config, ...args]);
    const listed = await bramble(['get', 'svc', '-A']);
    assert.equal(listed.code, 0, explain(listed));
    assert.match(listed.stdout, /^NAMESPACE\s+NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/m);
    assert.match(listed.stdout, /^kube-system\s+kube-dns\s+ClusterIP\s+10\.43\.0\.1\s+<none>\s+53\/UDP,53\/TCP\s+\S+$/m);
    assert.match(listed.stdout, /^default\s+lb\s+LoadBalancer\s+10\.43\.0\.\d+\s+<pending>\s+80:\d+\/TCP\s+\S+$/m);
    const ep = await bramble(['get', 'ep', 'shown']);
    assert.match(ep.stdout, /^shown\s+10\.42\.0\.5:8080\s+\S+$/m);
    const described = await bramble(['describe', 'svc', 'shown']);
    assert.equal(described.code, 0, explain(described));
    assert.match(described.stdout, /^Type:\s+NodePort$/m);
    assert.match(described.stdout, /^TargetPort:\s+http\/TCP$/m);
    assert.match(described.stdout, /^Endpoints:\s+10\.42\.0\.5:8080$/m);
  });
});
