import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { stringify } from 'yaml';
import { isBrambleError } from '../../proto/util/errors.js';
import { KINDS } from '../../proto/model.js';
import { parseManifestText, readManifests } from './manifest.js';
import { validateObject, validateObjects } from './schema.js';
import { repoRoot } from '../../test/support/server-process.js';
import { expectProblem, expectValid, fixtures, problemsOf, rejection, set } from '../testing/schema-fixtures.js';

const examplesDir = path.join(repoRoot(), 'docs', 'examples');

describe('validateObject', () => {
  test('every example manifest in docs/examples validates, and every kind has one', async () => {
    const objects = validateObjects(await readManifests(examplesDir));
    assert.deepEqual(new Set(objects.map((o) => o.kind)), new Set(KINDS.map((k) => k.kind)));
  });

  test('a minimal valid object of each kind passes', () => {
    for (const make of Object.values(fixtures)) expectValid(make());
  });

  test('an unknown kind is UNKNOWN_KIND at path "kind" and lists the supported kinds', () => {
    const err = rejection({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' } });
    assert.equal(err.code, 'UNKNOWN_KIND');
    assert.equal(err.details.length, 1);
    assert.equal(err.details[0]!.path, 'kind');
    assert.match(err.details[0]!.message, /Deployment \(apps\/v1\).*CronJob \(batch\/v1\).*current value is "StatefulSet"/);
  });

  test('a missing kind is UNKNOWN_KIND and says it is required', () => {
    const err = rejection({ apiVersion: 'v1', metadata: { name: 'x' } });
    assert.equal(err.code, 'UNKNOWN_KIND');
    assert.match(err.details[0]!.message, /^required: supported kinds are Namespace/);
  });

  test('an apiVersion that does not serve the kind is UNKNOWN_KIND at path "apiVersion"', () => {
    const err = rejection(set(fixtures.deployment(), 'apiVersion', 'v1'));
    assert.equal(err.code, 'UNKNOWN_KIND');
    assert.deepEqual(err.details, [{ path: 'apiVersion', message: 'must be "apps/v1" for kind Deployment: current value is "v1"' }]);
  });

  test('something that is not an object is rejected at the root', () => {
    const err = rejection(['not', 'an', 'object']);
    assert.equal(err.code, 'VALIDATION_FAILED');
    assert.deepEqual(err.details, [{ path: '', message: 'must be an object with apiVersion, kind and metadata: current value is a list' }]);
  });

  test('an unknown field is named with its path, and the summary reads on its own', () => {
    const err = rejection(set(fixtures.deployment(), 'spec.replcas', 3));
    assert.equal(err.code, 'VALIDATION_FAILED');
    assert.deepEqual(err.details, [{ path: 'spec.replcas', message: 'unknown field "replcas"' }]);
    assert.equal(err.message, 'deployment "web" is invalid: spec.replcas: unknown field "replcas"');
  });

  test('an unknown field deep inside a pod template is named with its full path', () => {
    expectProblem(set(fixtures.deployment(), 'spec.template.spec.containers[0].imag', 'x'), 'spec.template.spec.containers[0].imag', 'unknown field "imag"');
  });

  test('a string where an integer belongs names the rule and the value', () => {
    expectProblem(set(fixtures.deployment(), 'spec.replicas', 'three'), 'spec.replicas', 'must be an integer: current value is "three"');
    expectProblem(set(fixtures.deployment(), 'spec.replicas', 1.5), 'spec.replicas', 'must be an integer: current value is 1.5');
  });

  test('a missing required field says "required"', () => {
    const problems = problemsOf(set(fixtures.pod(), 'spec.containers[0].image', undefined));
    assert.deepEqual(problems, [{ path: 'spec.containers[0].image', message: 'required' }]);
  });

  test('every problem of an object is reported, not only the first', () => {
    const obj = fixtures.deployment();
    set(obj, 'metadata.name', 'Web_1');
    set(obj, 'spec.replicas', -1);
    set(obj, 'spec.template.spec.containers[0].image', undefined);
    set(obj, 'spec.template.spec.containers[0].ports', [{ containerPort: 0 }]);
    set(obj, 'spec.paused', 'yes');
    const paths = problemsOf(obj).map((p) => p.path).sort();
    assert.deepEqual(paths, [
      'metadata.name',
      'spec.paused',
      'spec.replicas',
      'spec.template.spec.containers[0].image',
      'spec.template.spec.containers[0].ports[0].containerPort',
    ]);
  });

  test('cross-field rules still run when another field is malformed', () => {
    const obj = set(fixtures.pod(), 'spec.containers[0].volumeMounts', [{ name: 'data', mountPath: '/data' }]);
    set(obj, 'spec.terminationGracePeriodSeconds', 'soon');
    const problems = problemsOf(obj);
    assert.ok(problems.some((p) => p.path === 'spec.terminationGracePeriodSeconds'));
    assert.ok(problems.some((p) => p.path === 'spec.containers[0].volumeMounts[0].name'));
  });

  test('a long list of problems is cut short in the summary but complete in the details', () => {
    const obj = fixtures.pod();
    set(obj, 'spec.containers', Array.from({ length: 7 }, (_, i) => ({ name: `c${i}` })));
    const err = rejection(obj);
    assert.equal(err.details.length, 7);
    assert.match(err.message, /; and 2 more$/);
  });

  test('a namespaced object without a namespace gets "default"', () => {
    assert.equal(validateObject(fixtures.configMap()).metadata.namespace, 'default');
    assert.equal(validateObject(set(fixtures.configMap(), 'metadata.namespace', 'shop')).metadata.namespace, 'shop');
  });

  test('a cluster-scoped object loses its namespace', () => {
    const out = validateObject(set(fixtures.node(), 'metadata.namespace', 'shop'));
    assert.equal('namespace' in out.metadata, false);
  });

  test('the input is not mutated and the result shares nothing with it', () => {
    const input = set(fixtures.deployment(), 'status', { replicas: 2, conditions: [{ type: 'Available', status: 'True' }] });
    const before = structuredClone(input);
    const out = validateObject(input);
    assert.deepEqual(input, before);
    (out.metadata.labels ??= {})['x'] = 'y';
    ((out.status as { conditions: unknown[] }).conditions).push({});
    (out.spec as { replicas: number }).replicas = 9;
    assert.deepEqual(input, before);
  });

  test('an object with status and server-set metadata round-trips through YAML unchanged', () => {
    const fromServer = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web', namespace: 'shop', uid: '6f1c2d4e-0000-4000-8000-000000000001', resourceVersion: '42', generation: 3,
        creationTimestamp: '2024-05-01T12:00:00Z', deletionTimestamp: '2024-05-02T12:00:00.123Z',
        labels: { app: 'web' }, annotations: { 'bramble.dev/revision': '3' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'shop', uid: 'u-1', controller: false, blockOwnerDeletion: true }],
      },
      spec: (fixtures.deployment() as { spec: unknown }).spec,
      status: { observedGeneration: 3, replicas: 2, readyReplicas: 2, conditions: [{ type: 'Available', status: 'True' }] },
    };
    const [doc] = parseManifestText(stringify(fromServer), 'get-output.yaml');
    assert.deepEqual(validateObject(doc), fromServer);
  });

  test('a null field (YAML "field:" with no value) counts as absent', () => {
    const obj = set(fixtures.deployment(), 'spec.template.metadata.creationTimestamp', null);
    set(obj, 'metadata.labels', null);
    const out = validateObject(obj) as { spec: { template: { metadata: object } }; metadata: object };
    assert.equal('creationTimestamp' in out.spec.template.metadata, false);
    assert.equal('labels' in out.metadata, false);
  });

  test('a "__proto__" field is rejected as unknown, not turned into a prototype', () => {
    const input = JSON.parse('{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a","__proto__":{"polluted":true}}}') as unknown;
    expectProblem(input, 'metadata.__proto__', 'unknown field "__proto__"');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('a document index given to validateObject is carried by each problem and the summary', () => {
    const err = rejection(undefined);
    assert.equal(err.details[0]!.document, undefined);
    try {
      validateObject(set(fixtures.pod(), 'spec.hostNetwork', 'no'), 4);
      assert.fail('expected a rejection');
    } catch (e) {
      assert.ok(isBrambleError(e, 'VALIDATION_FAILED'));
      assert.deepEqual(e.details.map((p) => p.document), [4]);
      assert.match(e.message, /^documents\[4\]: pod "hello" is invalid: spec\.hostNetwork: must be a boolean/);
    }
  });
});

describe('validateObjects', () => {
  test('returns every object normalized when all are valid', () => {
    const out = validateObjects([fixtures.namespace(), fixtures.pod()]);
    assert.deepEqual(out.map((o) => [o.kind, o.metadata.namespace]), [['Namespace', undefined], ['Pod', 'default']]);
  });

  test('one bad document among several is reported with its index', () => {
    try {
      validateObjects([fixtures.namespace(), set(fixtures.deployment(), 'spec.replcas', 3), fixtures.pod()]);
      assert.fail('expected a rejection');
    } catch (e) {
      assert.ok(isBrambleError(e, 'VALIDATION_FAILED'));
      assert.deepEqual(e.details, [{ path: 'spec.replcas', message: 'unknown field "replcas"', document: 1 }]);
      assert.equal(e.message, 'documents[1]: deployment "web" is invalid: spec.replcas: unknown field "replcas"');
    }
  });

  test('problems of all bad documents come back in one error', () => {
    try {
      validateObjects([set(fixtures.pod(), 'metadata.name', 'A'), fixtures.pod(), { apiVersion: 'v1', kind: 'Widget', metadata: { name: 'w' } }]);
      assert.fail('expected a rejection');
    } catch (e) {
      assert.ok(isBrambleError(e, 'VALIDATION_FAILED'));
      assert.deepEqual(e.details.map((p) => [p.document, p.path]), [[0, 'metadata.name'], [2, 'kind']]);
      assert.match(e.message, /^2 of 3 documents are invalid: documents\[0\]: pod "A" is invalid: .* \| documents\[2\]: object "w": kind: /);
    }
  });

  test('when every bad document has an unknown kind the code is UNKNOWN_KIND', () => {
    assert.throws(() => validateObjects([{ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'w' } }]), (e) => isBrambleError(e, 'UNKNOWN_KIND'));
  });
});
