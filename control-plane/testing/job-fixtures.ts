// A small cluster for the Job controller's tests: the controller on an in-memory
// store and fake clock, driven by hand (no workers), and a stand-in for the
// agents that runs, finishes and restarts the Job's Pods.
import type { TestContext } from 'node:test';
import { FakeClock } from '../../proto/util/clock.js';
import type { Job, JobSpec, Pod, PodPhase } from '../../proto/model.js';
import { createMemoryStore } from '../store/store-memory.js';
import { JobController } from '../controllers/controller-job.js';
import { FakeRecorder } from '../controllers/event-recorder.js';
import { StorePodControl } from '../controllers/pod-control.js';
import { controllerOf } from '../controllers/owner-claims.js';
import { isPodActive } from '../controllers/pod-ranking.js';
import { makeNamespace, seed } from './replicaset-fixtures.js';

export function makeJob(name: string, spec: Partial<JobSpec> = {}): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'default', uid: `uid-job-${name}`, generation: 1, creationTimestamp: '2026-01-01T00:00:00.000Z' },
    spec: {
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox', command: ['sh', '-c', 'echo done'] }] } },
      ...spec,
    },
  };
}

export async function jobCluster(t: TestContext) {
  const store = createMemoryStore();
  const clock = new FakeClock();
  await seed(store, makeNamespace());
  let n = 0;
  const podControl = new StorePodControl({ store, clock, generateName: (base) => `${base}${String(++n).padStart(5, '0')}`, newUid: () => `uid-pod-${n}` });
  const recorder = new FakeRecorder();
  let jc = new JobController({ store, clock, podControl, recorder });
  jc.start(undefined, { runWorkers: false });
  await jc.whenSynced();
  t.after(async () => {
    await jc.stop();
    await store.close();
  });
  const settle = () => clock.advance(0);
  const job = (name = 'work') => store.get('Job', 'default', name) as Job | undefined;
  const pods = (name = 'work') =>
    (store.list('Pod', 'default').items as Pod[])
      .filter((p) => controllerOf(p)?.name === name)
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const active = (name = 'work') => pods(name).filter(isPodActive);
  let maxActive = 0;
  const sample = (name: string) => (maxActive = Math.max(maxActive, active(name).length));

  /** One pass of the controller for the Job. */
  const sync = async (name = 'work') => {
    await settle();
    await jc.reconcile(`default/${name}`);
    await settle();
    sample(name);
  };

  const putStatus = async (pod: Pod, status: Pod['status']) => {
    const cur = store.get('Pod', 'default', pod.metadata.name) as Pod;
    await store.propose({ ops: [{ type: 'put', object: { ...cur, status }, precondition: { resourceVersion: cur.metadata.resourceVersion! } }] });
    await settle();
  };

  /** What an agent reports for a Pod that runs: Running, Ready when asked, with `restarts` container restarts. */
  const run = async (pod: Pod, opts: { ready?: boolean; restarts?: number } = {}) => {
    const nowIso = new Date(clock.now()).toISOString();
    await putStatus(pod, {
      phase: 'Running',
      startTime: nowIso,
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', lastTransitionTime: nowIso }],
      containerStatuses: [{ name: 'work', image: 'busybox', ready: opts.ready !== false, restartCount: opts.restarts ?? 0, state: { running: { startedAt: nowIso } } }],
    });
  };

  /** What an agent reports for a Pod whose container exited: Succeeded on 0, Failed otherwise, finished now. */
  const finish = async (pod: Pod, phase: Extract<PodPhase, 'Succeeded' | 'Failed'>) => {
    const nowIso = new Date(clock.now()).toISOString();
    await putStatus(pod, {
      phase,
      conditions: [{ type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: nowIso }],
      containerStatuses: [{
        name: 'work', image: 'busybox', ready: false, restartCount: 0,
        state: { terminated: { exitCode: phase === 'Succeeded' ? 0 : 1, reason: phase === 'Succeeded' ? 'Completed' : 'Error', finishedAt: nowIso } },
      }],
    });
  };

  /** Changes the stored Job's spec as an apply would (generation bumped). */
  const update = async (change: (spec: JobSpec) => JobSpec, name = 'work') => {
    const cur = job(name)!;
    const object = { ...cur, spec: change(cur.spec), metadata: { ...cur.metadata, generation: (cur.metadata.generation ?? 1) + 1 } };
    await store.propose({ ops: [{ type: 'put', object, precondition: { resourceVersion: cur.metadata.resourceVersion! } }] });
    await settle();
  };

  /** Removes a Pod from the store outright, as a person (or a node's cleanup) might. */
  const removePod = async (pod: Pod) => {
    await store.propose({ ops: [{ type: 'delete', kind: 'Pod', namespace: 'default', name: pod.metadata.name }] });
    await settle();
  };

  /** Stops this controller and starts a fresh one, as a new leader would. */
  const restartController = async () => {
    await jc.stop();
    jc = new JobController({ store, clock, podControl, recorder });
    jc.start(undefined, { runWorkers: false });
    await jc.whenSynced();
  };

  return {
    store, clock, recorder, settle, job, pods, active, sync, run, finish, update, removePod, restartController,
    get maxActive() { return maxActive; },
    get jc() { return jc; },
  };
}
