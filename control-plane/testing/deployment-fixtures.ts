// A small cluster for the Deployment controller's tests: the Deployment and
// ReplicaSet controllers on one in-memory store and fake clock, driven by hand
// (no workers), with a stand-in for the agents that makes Pods Ready, and the
// invariants a rolling update must keep checked after every single step.
import type { TestContext } from 'node:test';
import { FakeClock } from '../../proto/util/clock.js';
import type { Deployment, DeploymentSpec, Pod, ReplicaSet } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';
import { DeploymentController } from '../controllers/controller-deployment.js';
import { ReplicaSetController } from '../controllers/controller-replicaset.js';
import { StorePodControl } from '../controllers/pod-control.js';
import { isPodActive, isPodAvailable } from '../controllers/pod-ranking.js';
import { StoreReplicaSetControl, type ReplicaSetControl } from '../controllers/replicaset-control.js';
import { makeNamespace, seed } from './replicaset-fixtures.js';

export function makeDeployment(name: string, spec: Partial<DeploymentSpec> & { image?: string } = {}): Deployment {
  const { image = 'web:v1', ...rest } = spec;
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default', uid: `uid-deploy-${name}`, generation: 1, creationTimestamp: '2026-01-01T00:00:00.000Z' },
    spec: {
      replicas: 4,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } },
      ...rest,
    },
  };
}

/**
 * A Deployment as a user applies it (no uid, generation or timestamps), for the e2e tests on
 * real boards: `replicas` containers "app" sleeping in a local image. `sleep` as PID 1 ignores
 * SIGTERM, so a stopped replica runs out its grace period, as a server finishing its requests would.
 */
export function sleepingDeployment(name: string, opts: { image: string; replicas?: number; terminationGracePeriodSeconds?: number }): Deployment {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: opts.replicas ?? 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: opts.terminationGracePeriodSeconds ?? 1,
          containers: [{ name: 'app', image: opts.image, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
        },
      },
    },
  };
}

export interface Sample {
  active: number;
  available: number;
}

export async function deploymentCluster(t: TestContext, opts: { rsControl?: (store: Store, clock: FakeClock) => ReplicaSetControl } = {}) {
  const store = createMemoryStore();
  const clock = new FakeClock();
  await seed(store, makeNamespace());
  let n = 0;
  const podControl = new StorePodControl({ store, clock, generateName: (base) => `${base}${String(++n).padStart(5, '0')}` });
  const rsc = new ReplicaSetController({ store, clock, podControl });
  let uids = 0;
  const rsControl = opts.rsControl?.(store, clock) ?? new StoreReplicaSetControl({ store, clock, newUid: () => `uid-rs-${++uids}` });
  let dc = new DeploymentController({ store, clock, replicaSets: rsControl });
  rsc.start(undefined, { runWorkers: false });
  dc.start(undefined, { runWorkers: false });
  await rsc.whenSynced();
  await dc.whenSynced();
  t.after(async () => {
    await dc.stop();
    await rsc.stop();
    await store.close();
  });
  const settle = () => clock.advance(0);
  const deployment = (name = 'web') => store.get('Deployment', 'default', name) as Deployment;
  const replicaSets = () => (store.list('ReplicaSet', 'default').items as ReplicaSet[]).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const pods = () => (store.list('Pod', 'default').items as Pod[]).filter(isPodActive);
  const samples: Sample[] = [];
  const sample = () => {
    const active = pods();
    const minReady = deployment()?.spec.minReadySeconds ?? 0;
    samples.push({ active: active.length, available: active.filter((p) => isPodAvailable(p, minReady, clock.now())).length });
  };

  /** Changes the stored Deployment as an apply would: spec changes bump generation. */
  const update = async (change: (d: Deployment) => Deployment, name = 'web') => {
    const cur = deployment(name);
    const next = change(cur);
    const specChanged = JSON.stringify(next.spec) !== JSON.stringify(cur.spec);
    const object = { ...next, metadata: { ...next.metadata, generation: (cur.metadata.generation ?? 1) + (specChanged ? 1 : 0) } };
    await store.propose({ ops: [{ type: 'put', object, precondition: { resourceVersion: cur.metadata.resourceVersion! } }] });
    await settle();
  };

  /** What the agents would report: each Pod of `image` (all when omitted) Running and Ready from now. */
  const makeReady = async (image?: string) => {
    const nowIso = new Date(clock.now()).toISOString();
    for (const p of pods()) {
      if (image && p.spec.containers[0]?.image !== image) continue;
      if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      const object: Pod = { ...p, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: nowIso }] } };
      await store.propose({ ops: [{ type: 'put', object, precondition: { resourceVersion: p.metadata.resourceVersion! } }] });
    }
    await settle();
  };

  /** One pass of each controller, the invariants sampled after every reconcile. */
  const step = async (name = 'web') => {
    await settle();
    await dc.reconcile(`default/${name}`);
    await settle();
    sample();
    for (const rs of replicaSets()) {
      await rsc.reconcile(`default/${rs.metadata.name}`);
      await settle();
      sample();
    }
    await dc.reconcile(`default/${name}`);
    await settle();
    sample();
  };

  /** Steps, making Pods of `readyImage` Ready after each, until the rollout completes (or `max` steps). */
  const rollOut = async (readyImage?: string, max = 30) => {
    for (let i = 0; i < max; i++) {
      await step();
      const d = deployment();
      const s = d.status;
      const want = d.spec.replicas ?? 1;
      if (s && s.observedGeneration === d.metadata.generation && s.updatedReplicas === want && s.replicas === want && s.availableReplicas === want) return i;
      await makeReady(readyImage);
    }
    throw new Error(`the rollout did not complete in ${max} steps: ${JSON.stringify(deployment().status)}`);
  };

  /** Stops this Deployment controller and starts a fresh one, as a new leader would. */
  const restartController = async () => {
    await dc.stop();
    dc = new DeploymentController({ store, clock, replicaSets: rsControl });
    dc.start(undefined, { runWorkers: false });
    await dc.whenSynced();
  };

  return {
    store, clock, settle, deployment, replicaSets, pods, samples, update, makeReady, step, rollOut, restartController,
    get dc() { return dc; },
  };
}
