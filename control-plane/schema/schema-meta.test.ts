import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeValue, formatPath } from './schema-errors.js';
import { expectProblem, expectValid, fixtures, problemsOf, set } from '../testing/schema-fixtures.js';

describe('object names', () => {
  test('metadata.name is required', () => {
    expectProblem(set(fixtures.pod(), 'metadata.name', undefined), 'metadata.name', 'required');
  });

  test('metadata.name must be a lowercase RFC 1123 subdomain', () => {
    expectProblem(
      set(fixtures.deployment(), 'metadata.name', 'Web_1'),
      'metadata.name',
      `must be a lowercase RFC 1123 subdomain (a-z, 0-9, '-', '.'): current value is "Web_1"`,
    );
    expectProblem(set(fixtures.pod(), 'metadata.name', '-web'), 'metadata.name', 'RFC 1123 subdomain');
    expectProblem(set(fixtures.pod(), 'metadata.name', ''), 'metadata.name', 'must not be empty');
  });

  test('metadata.name may have dots but at most 253 characters', () => {
    expectValid(set(fixtures.configMap(), 'metadata.name', 'app.config.v2'));
    expectProblem(set(fixtures.configMap(), 'metadata.name', 'a'.repeat(254)), 'metadata.name', 'must be no more than 253 characters');
  });

  test('a Namespace name must be an RFC 1123 label: no dots, at most 63 characters', () => {
    expectProblem(set(fixtures.namespace(), 'metadata.name', 'team.a'), 'metadata.name', "must be a lowercase RFC 1123 label (a-z, 0-9, '-'): current value is \"team.a\"");
    expectProblem(set(fixtures.namespace(), 'metadata.name', 'a'.repeat(64)), 'metadata.name', 'must be no more than 63 characters');
  });

  test('a Service name must be an RFC 1123 label', () => {
    expectProblem(set(fixtures.service(), 'metadata.name', 'web.v2'), 'metadata.name', 'RFC 1123 label');
  });

  test('metadata.namespace must be an RFC 1123 label', () => {
    expectProblem(set(fixtures.pod(), 'metadata.namespace', 'My.Team'), 'metadata.namespace', 'RFC 1123 label (a-z, 0-9, \'-\'): current value is "My.Team"');
  });

  test('server-set timestamps must be RFC 3339', () => {
    expectProblem(set(fixtures.pod(), 'metadata.creationTimestamp', 'yesterday'), 'metadata.creationTimestamp', 'RFC 3339');
  });

  test('metadata.generation must be a non-negative integer', () => {
    expectProblem(set(fixtures.pod(), 'metadata.generation', -1), 'metadata.generation', 'must be greater than or equal to 0: current value is -1');
  });
});

describe('labels and annotations', () => {
  test('a label key with a space is rejected, naming the key', () => {
    expectProblem(set(fixtures.pod(), 'metadata.labels', { 'Bad Key': 'x' }), 'metadata.labels', 'label key name part must consist of alphanumeric');
    expectProblem(set(fixtures.pod(), 'metadata.labels', { 'Bad Key': 'x' }), 'metadata.labels', 'current value is "Bad Key"');
  });

  test('a label key prefix must be a DNS subdomain and the name part at most 63 characters', () => {
    expectProblem(set(fixtures.pod(), 'metadata.labels', { 'Example.com/app': 'x' }), 'metadata.labels', 'label key prefix must be a lowercase RFC 1123 subdomain');
    expectProblem(set(fixtures.pod(), 'metadata.labels', { [`x/${'a'.repeat(64)}`]: 'x' }), 'metadata.labels', 'name part must be no more than 63 characters');
    expectProblem(set(fixtures.pod(), 'metadata.labels', { 'a/b/c': 'x' }), 'metadata.labels', "at most one '/'");
  });

  test('prefixed label keys such as app.kubernetes.io/name are accepted', () => {
    expectValid(set(fixtures.pod(), 'metadata.labels', { 'app.kubernetes.io/name': 'web', tier: '', 'v_1.2-a': 'A_b.c-1' }));
  });

  test('a label value must be at most 63 alphanumeric characters with -_.', () => {
    expectProblem(set(fixtures.pod(), 'metadata.labels', { app: 'bad value!' }), 'metadata.labels.app', 'must be empty or consist of alphanumeric characters');
    expectProblem(set(fixtures.pod(), 'metadata.labels', { app: 'a'.repeat(64) }), 'metadata.labels.app', 'must be no more than 63 characters');
    expectProblem(set(fixtures.pod(), 'metadata.labels', { 'app.kubernetes.io/name': '-x' }), 'metadata.labels["app.kubernetes.io/name"]', 'current value is "-x"');
  });

  test('a label value that YAML read as a number must be quoted', () => {
    expectProblem(set(fixtures.pod(), 'metadata.labels', { version: 2 }), 'metadata.labels.version', 'must be a string: current value is 2');
  });

  test('template labels follow the same rules', () => {
    expectProblem(set(fixtures.deployment(), 'spec.template.metadata.labels.app', 'web app'), 'spec.template.metadata.labels.app', 'must be empty or consist');
  });

  test('annotation keys are qualified names; values may be any string', () => {
    expectProblem(set(fixtures.pod(), 'metadata.annotations', { 'not ok': 'x' }), 'metadata.annotations', 'annotation key name part');
    expectValid(set(fixtures.pod(), 'metadata.annotations', { 'bramble.dev/note': 'free text, even "quotes" and spaces!' }));
  });
});

describe('paths and values in messages', () => {
  test('paths use dots for fields, brackets for indexes and quoted brackets for odd keys', () => {
    assert.equal(formatPath(['spec', 'template', 'spec', 'containers', 0, 'image']), 'spec.template.spec.containers[0].image');
    assert.equal(formatPath(['data', 'config.yaml']), 'data["config.yaml"]');
    assert.equal(formatPath([]), '');
  });

  test('values are quoted strings, shortened when long, and containers are named by type', () => {
    assert.equal(describeValue('x'.repeat(100)), `"${'x'.repeat(77)}..."`);
    assert.equal(describeValue([1]), 'a list');
    assert.equal(describeValue({}), 'an object');
    assert.equal(describeValue(false), 'false');
  });

  test('a wrong type on an object field names both the expected and the actual type', () => {
    const problems = problemsOf(set(fixtures.pod(), 'metadata.labels', ['app=web']));
    assert.deepEqual(problems, [{ path: 'metadata.labels', message: 'must be an object: current value is a list' }]);
  });
});

describe('finalizers', () => {
  test('the garbage collector\'s finalizers are accepted, so `get -o yaml` of an object being deleted applies again', () => {
    expectValid(set(fixtures.pod(), 'metadata.finalizers', ['foregroundDeletion']));
    expectValid(set(fixtures.pod(), 'metadata.finalizers', ['orphan']));
  });

  test('another finalizer is rejected: nothing would ever remove it', () => {
    const problems = problemsOf(set(fixtures.pod(), 'metadata.finalizers', ['example.com/keep']));
    assert.ok(problems.some((p) => p.path.startsWith('metadata.finalizers')), JSON.stringify(problems));
  });
});
