// The example manifests of the Kubernetes documentation (content/en/examples/
// controllers and application of kubernetes/website, copied unchanged into
// test/fixtures/k8s-examples) are what people paste first. Each must apply to a
// new cluster as it is, or be refused for a reason listed in EXPECTED_FAILURES:
// a kind Bramble does not have, a field Bramble cannot honour, or a manifest
// Kubernetes refuses too. The table pins every problem of every refused file, so
// a file that starts failing for another reason fails this test.
//
// None of these examples needs a namespace other than default and kube-system,
// so none is created first; the namespace check below says so when one does.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { FakeClock } from '../../proto/util/clock.js';
import { silentLogger } from '../../proto/util/log.js';
import { isBrambleError, type BrambleError, type ErrorCode } from '../../proto/util/errors.js';
import { SYSTEM_NAMESPACES, kindInfo } from '../../proto/model.js';
import { ClusterApi } from './api-cluster.js';
import { readManifests } from '../schema/manifest.js';
import { validateObjects } from '../schema/schema.js';
import { ensureSystemNamespaces } from '../server.js';
import { createMemoryStore } from '../store/store-memory.js';
import type { Store } from '../store/store.js';
import { createTokenRegistry } from '../pki/token-registry.js';
import { fixturesDir } from '../testing/manifest-fuzz-fixtures.js';

/** A cluster as `bramble server` leaves it on its first start, with its store to look into. */
async function freshCluster(): Promise<{ api: ClusterApi; store: Store }> {
  const store = createMemoryStore();
  const clock = new FakeClock();
  await ensureSystemNamespaces(store, clock);
  const api = new ClusterApi({
    store, clock, logger: silentLogger(), validate: validateObjects,
    tokens: createTokenRegistry({ store, caHash: 'a'.repeat(64), clock }),
    version: '0.0.0', nodeName: 'cp-1',
  });
  return { api, store };
}

type Why =
  /** The file holds a kind Bramble does not have. */
  | 'unknown kind'
  /** A field Kubernetes accepts that changes how pods run (or are reached), and Bramble cannot do it. */
  | 'field Bramble cannot honour'
  /** The file as stored is not a valid manifest for Kubernetes either. */
  | 'invalid in Kubernetes too';

interface ExpectedFailure {
  why: Why;
  reason: string;
  code: ErrorCode;
  /** Every problem of the refusal as "document:path"; one more or one fewer means a new reason. */
  problems: string[];
  /** What the error message must name: the unknown kinds, the refused fields. */
  names: string[];
}

const unknownKind = (kinds: string[], problems: string[], reason = `Bramble has no ${kinds.join(' or ')}`): ExpectedFailure => ({
  why: 'unknown kind', reason, code: 'UNKNOWN_KIND', problems, names: kinds,
});

// A volume source Bramble has none of: the field itself and "exactly one volume source" are reported.
const volumeSource = (document: number, source: string): string[] => [
  `${document}:spec.template.spec.volumes[0].${source}`,
  `${document}:spec.template.spec.volumes[0]`,
];

const NO_VOLUME_CLAIMS = 'a persistentVolumeClaim volume needs PersistentVolumeClaims, which Bramble does not have';
const NO_LOAD_BALANCER = 'Service type LoadBalancer needs a load balancer; Bramble has ClusterIP and NodePort only';
const JOB_POLICIES = 'the Job controller has no per-index backoff, pod failure policy or success policy; accepting them would ignore them';

const EXPECTED_FAILURES: Record<string, ExpectedFailure> = {
  'application/cassandra/cassandra-statefulset.yaml': unknownKind(['StatefulSet', 'StorageClass'], ['0:kind', '1:kind']),
  'application/hpa/php-apache.yaml': unknownKind(['HorizontalPodAutoscaler'], ['0:kind']),
  'application/job/cronjob.yaml': {
    why: 'invalid in Kubernetes too',
    reason: 'the stored version uses batch/v1beta1, which Kubernetes removed for CronJob in 1.25; batch/v1 is the one API',
    code: 'UNKNOWN_KIND', problems: ['0:apiVersion'], names: ['batch/v1beta1', 'batch/v1'],
  },
  'application/job/indexed-job-vol.yaml': {
    why: 'field Bramble cannot honour', reason: 'the agent fills no downwardAPI volumes', code: 'VALIDATION_FAILED',
    problems: volumeSource(0, 'downwardAPI'), names: ['downwardAPI'],
  },
  'application/job/job-tmpl.yaml': {
    why: 'invalid in Kubernetes too', reason: 'a template: "$ITEM" in the name is replaced by a shell loop before applying',
    code: 'VALIDATION_FAILED', problems: ['0:metadata.name'], names: ['process-item-$ITEM'],
  },
  'application/job/rabbitmq/rabbitmq-statefulset.yaml': unknownKind(['StatefulSet'], ['0:kind']),
  'application/mysql/mysql-deployment.yaml': {
    why: 'field Bramble cannot honour', reason: NO_VOLUME_CLAIMS, code: 'VALIDATION_FAILED',
    problems: volumeSource(1, 'persistentVolumeClaim'), names: ['persistentVolumeClaim'],
  },
  'application/mysql/mysql-pv.yaml': unknownKind(['PersistentVolume', 'PersistentVolumeClaim'], ['0:kind', '1:kind']),
  'application/mysql/mysql-statefulset.yaml': unknownKind(['StatefulSet'], ['0:kind']),
  'application/nginx-app.yaml': {
    why: 'field Bramble cannot honour', reason: NO_LOAD_BALANCER, code: 'VALIDATION_FAILED',
    problems: ['0:spec.type'], names: ['spec.type', 'LoadBalancer'],
  },
  'application/nginx/nginx-svc.yaml': {
    why: 'field Bramble cannot honour', reason: NO_LOAD_BALANCER, code: 'VALIDATION_FAILED',
    problems: ['0:spec.type'], names: ['spec.type', 'LoadBalancer'],
  },
  'application/restore-pvc.yaml': unknownKind(['PersistentVolumeClaim'], ['0:kind']),
  'application/volume-snaphot.yaml': unknownKind(['VolumeSnapshot'], ['0:kind']),
  'application/volume-snapshot-class.yaml': unknownKind(['VolumeSnapshotClass'], ['0:kind']),
  'application/web/web-parallel.yaml': unknownKind(['StatefulSet'], ['1:kind']),
  'application/web/web.yaml': unknownKind(['StatefulSet'], ['1:kind']),
  // Both reasons at once: the claim's kind, and the Deployment's volume naming it.
  'application/wordpress/mysql-deployment.yaml': {
    why: 'unknown kind', reason: `Bramble has no PersistentVolumeClaim; ${NO_VOLUME_CLAIMS}`, code: 'VALIDATION_FAILED',
    problems: ['1:kind', ...volumeSource(2, 'persistentVolumeClaim')], names: ['PersistentVolumeClaim', 'persistentVolumeClaim'],
  },
  'application/wordpress/wordpress-deployment.yaml': {
    why: 'unknown kind', reason: `Bramble has no PersistentVolumeClaim; ${NO_VOLUME_CLAIMS}; ${NO_LOAD_BALANCER}`, code: 'VALIDATION_FAILED',
    problems: ['0:spec.type', '1:kind', ...volumeSource(2, 'persistentVolumeClaim')],
    names: ['LoadBalancer', 'PersistentVolumeClaim', 'persistentVolumeClaim'],
  },
  'application/zookeeper/zookeeper.yaml': unknownKind(['PodDisruptionBudget', 'StatefulSet'], ['2:kind', '3:kind']),
  'controllers/hpa-rs.yaml': unknownKind(['HorizontalPodAutoscaler'], ['0:kind']),
  'controllers/job-backoff-limit-per-index-example.yaml': {
    why: 'field Bramble cannot honour', reason: JOB_POLICIES, code: 'VALIDATION_FAILED',
    problems: ['0:spec.backoffLimitPerIndex', '0:spec.maxFailedIndexes'], names: ['backoffLimitPerIndex', 'maxFailedIndexes'],
  },
  'controllers/job-backoff-limit-per-index-failindex.yaml': {
    why: 'field Bramble cannot honour', reason: JOB_POLICIES, code: 'VALIDATION_FAILED',
    problems: ['0:spec.backoffLimitPerIndex', '0:spec.podFailurePolicy'], names: ['backoffLimitPerIndex', 'podFailurePolicy'],
  },
  'controllers/job-pod-failure-policy-config-issue.yaml': {
    why: 'field Bramble cannot honour', reason: JOB_POLICIES, code: 'VALIDATION_FAILED',
    problems: ['0:spec.podFailurePolicy'], names: ['podFailurePolicy'],
  },
  'controllers/job-pod-failure-policy-example.yaml': {
    why: 'field Bramble cannot honour', reason: JOB_POLICIES, code: 'VALIDATION_FAILED',
    problems: ['0:spec.podFailurePolicy'], names: ['podFailurePolicy'],
  },
  'controllers/job-pod-failure-policy-failjob.yaml': {
    why: 'field Bramble cannot honour', reason: JOB_POLICIES, code: 'VALIDATION_FAILED',
    problems: ['0:spec.podFailurePolicy'], names: ['podFailurePolicy'],
  },
  'controllers/job-pod-failure-policy-ignore.yaml': {
    why: 'invalid in Kubernetes too', reason: 'the stored version indents its last line with a tab, which YAML forbids',
    code: 'MANIFEST_PARSE_FAILED', problems: [], names: ['job-pod-failure-policy-ignore.yaml:24', 'Tabs are not allowed'],
  },
  'controllers/job-success-policy-example.yaml': {
    why: 'invalid in Kubernetes too',
    reason: 'no metadata (so no name) and no restartPolicy, which a Job needs; its successPolicy is a Job policy Bramble cannot honour too',
    code: 'VALIDATION_FAILED',
    problems: ['0:metadata', '0:spec.successPolicy', '0:spec.template.spec.restartPolicy'], names: ['metadata', 'successPolicy', 'restartPolicy'],
  },
  'controllers/job-success-policy.yaml': {
    why: 'field Bramble cannot honour', reason: JOB_POLICIES, code: 'VALIDATION_FAILED',
    problems: ['0:spec.successPolicy'], names: ['successPolicy'],
  },
  'controllers/replication-nginx-1.14.2.yaml': unknownKind(['ReplicationController'], ['0:kind'], 'Bramble has no ReplicationController: a ReplicaSet or Deployment does its work'),
  'controllers/replication-nginx-1.16.1.yaml': unknownKind(['ReplicationController'], ['0:kind'], 'Bramble has no ReplicationController: a ReplicaSet or Deployment does its work'),
  'controllers/replication-nginx-1.9.2.yaml': unknownKind(['ReplicationController'], ['0:kind'], 'Bramble has no ReplicationController: a ReplicaSet or Deployment does its work'),
  'controllers/replication.yaml': unknownKind(['ReplicationController'], ['0:kind'], 'Bramble has no ReplicationController: a ReplicaSet or Deployment does its work'),
  'controllers/statefulset.yaml': unknownKind(['StatefulSet'], ['1:kind']),
};

const dir = path.join(fixturesDir(), '..', 'k8s-examples');

function manifestFiles(d: string): string[] {
  return readdirSync(d).flatMap((name) => {
    const p = path.join(d, name);
    if (statSync(p).isDirectory()) return manifestFiles(p);
    return /\.(ya?ml|json)$/.test(name) ? [p] : [];
  });
}

const files = manifestFiles(dir).map((f) => path.relative(dir, f).split(path.sep).join('/')).sort();

/** What `bramble apply -f` sends: every object of the file, as JSON. */
async function manifestObjects(file: string): Promise<string[]> {
  return (await readManifests(path.join(dir, file))).map((o) => JSON.stringify(o));
}

async function refusal(run: () => Promise<unknown>): Promise<BrambleError> {
  try {
    await run();
  } catch (e) {
    if (isBrambleError(e)) return e;
    throw e;
  }
  assert.fail('expected the file to be refused, and it was applied');
}

/** "kind/namespace/name" of every object the file names, whatever its kind. */
function namedObjects(objects: string[]): { kind: string; namespace?: string; name: string }[] {
  return objects.flatMap((text) => {
    const o = JSON.parse(text) as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
    if (typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') return [];
    const namespace = typeof o.metadata.namespace === 'string' ? o.metadata.namespace : undefined;
    return [{ kind: o.kind, namespace, name: o.metadata.name }];
  });
}

describe('the Kubernetes documentation\'s workload examples on a new cluster', () => {
  test('the controllers and application examples are all there, in their subfolders', () => {
    assert.ok(files.length >= 80, `found ${files.length}: ${files.join(', ')}`);
    assert.ok(files.includes('controllers/nginx-deployment.yaml'));
    assert.ok(files.includes('application/guestbook/frontend-deployment.yaml'));
  });

  test('every file the expected-failure table names is an example file, so the table cannot go stale', () => {
    assert.deepEqual(Object.keys(EXPECTED_FAILURES).filter((f) => !files.includes(f)), []);
  });

  for (const file of files) {
    const expected = EXPECTED_FAILURES[file];
    if (!expected) {
      test(`${file} is accepted, and applying it again changes nothing`, async () => {
        const { api } = await freshCluster();
        const objects = await manifestObjects(file);
        const first = await api.apply({ objects, dryRun: false });
        assert.deepEqual(first.results!.map((r) => r.action), objects.map(() => 'created'));
        for (const r of first.results!) {
          if (r.namespace !== '') assert.ok(SYSTEM_NAMESPACES.includes(r.namespace!), `${file} needs namespace ${r.namespace}: create it first in this test`);
        }
        const again = await api.apply({ objects, dryRun: false });
        assert.deepEqual(again.results!.map((r) => r.action), objects.map(() => 'unchanged'));
        assert.equal(again.revision, first.revision);
      });
      continue;
    }
    test(`${file} is refused (${expected.why}: ${expected.reason}), naming why, and writes nothing`, async () => {
      const { api, store } = await freshCluster();
      const revision = store.revision();
      const count = store.objectCount();
      let objects: string[] = [];
      const err = await refusal(async () => {
        objects = await manifestObjects(file);
        await api.apply({ objects, dryRun: false });
      });
      assert.equal(err.code, expected.code, err.message);
      for (const name of expected.names) assert.ok(err.message.includes(name), `expected the message to name ${name}: ${err.message}`);
      const problems = err.details.map((p) => `${p.document ?? 0}:${p.path}`).sort();
      assert.deepEqual(problems, [...expected.problems].sort(), err.message);
      assert.equal(store.revision(), revision);
      assert.equal(store.objectCount(), count);
      for (const o of namedObjects(objects)) {
        const namespace = kindInfo(o.kind)?.namespaced === false ? undefined : o.namespace ?? 'default';
        assert.equal(store.get(o.kind, namespace, o.name), undefined, `${o.kind} ${o.name} was written`);
      }
    });
  }
});
