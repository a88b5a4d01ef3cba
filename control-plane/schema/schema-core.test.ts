import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateObject } from './schema.js';
import { expectProblem, expectValid, fixtures, rejection, set } from '../testing/schema-fixtures.js';

describe('Secret', () => {
  const sec = (path: string, value: unknown) => set(fixtures.secret(), path, value);

  test('each data value must be valid base64, and the message never shows it', () => {
    const secretValue = 'hunter2 is my password!';
    const err = rejection(sec('data.password', secretValue));
    assert.deepEqual(err.details, [{ path: 'data.password', message: 'must be valid base64' }]);
    assert.equal(err.message, 'secret "db" is invalid: data.password: must be valid base64');
  });

  test('no message about data or stringData contains the value, whatever the rule', () => {
    const values = ['s3cr3t-number', 'another-s3cr3t'];
    const obj = sec('data', { a: 12345, b: values[0], c: ['x'] });
    set(obj, 'stringData', { d: 67890, e: { nested: values[1] } });
    const err = rejection(obj);
    assert.equal(err.details.length, 5);
    const text = JSON.stringify(err.details) + err.message;
    for (const v of [...values, '12345', '67890', 'nested']) assert.equal(text.includes(v), false, `message leaks ${v}: ${text}`);
  });

  test('stringData takes plain text, and type and immutable are accepted', () => {
    expectValid(sec('stringData', { password: 'plain text is fine here' }));
    expectValid(set(sec('type', 'kubernetes.io/tls'), 'immutable', true));
  });

  test('data keys must be valid file names', () => {
    expectProblem(sec('data', { 'bad/key': 'YQ==' }), 'data', `key must consist of alphanumeric characters, '-', '_' or '.': current value is "bad/key"`);
  });

  test('a Secret has no spec', () => {
    expectProblem(sec('spec', { data: {} }), 'spec', 'unknown field "spec"');
  });
});

describe('ConfigMap', () => {
  const cm = (path: string, value: unknown) => set(fixtures.configMap(), path, value);

  test('data keys must be valid file names and values strings', () => {
    expectProblem(cm('data', { 'a b': 'x' }), 'data', 'key must consist of alphanumeric characters');
    expectProblem(cm('data', { '..': 'x' }), 'data', "must not be '.' or '..'");
    expectProblem(cm('data', { port: 8080 }), 'data.port', 'must be a string: current value is 8080');
  });

  test('binaryData values must be base64 and keys must not repeat data keys', () => {
    expectProblem(cm('binaryData', { 'logo.png': 'not base64' }), 'binaryData["logo.png"]', 'must be valid base64');
    expectProblem(cm('binaryData', { 'index.html': 'YQ==' }), 'binaryData["index.html"]', 'must not repeat a key of data');
  });

  test('the payload is limited to 1 MiB', () => {
    expectProblem(cm('data', { big: 'x'.repeat(1024 * 1024 + 1) }), '', 'total size of data and binaryData must be no more than 1048576 bytes');
  });

  test('immutable is a boolean', () => {
    expectProblem(cm('immutable', 'yes'), 'immutable', 'must be a boolean');
  });
});

describe('Node and Namespace', () => {
  test('a Node podCIDR must be an IPv4 CIDR', () => {
    expectProblem(set(fixtures.node(), 'spec.podCIDR', '10.42.1.0'), 'spec.podCIDR', 'must be an IPv4 CIDR such as "10.42.1.0/24": current value is "10.42.1.0"');
  });

  test('taints need a key and a known effect, unique by key and effect', () => {
    expectProblem(set(fixtures.node(), 'spec.taints', [{ key: 'gpu', effect: 'NoWay' }]), 'spec.taints[0].effect', 'must be one of "NoSchedule", "PreferNoSchedule", "NoExecute"');
    expectProblem(set(fixtures.node(), 'spec.taints', [{ effect: 'NoSchedule' }]), 'spec.taints[0].key', 'required');
    const dup = [{ key: 'gpu', effect: 'NoSchedule' }, { key: 'gpu', value: 'x', effect: 'NoSchedule' }];
    expectProblem(set(fixtures.node(), 'spec.taints', dup), 'spec.taints[1]', 'must be unique by key and effect');
  });

  test('a Node with status as the agent reports it validates', () => {
    const node = set(fixtures.node(), 'status', { capacity: { cpu: '4', memory: '3884Mi' }, conditions: [{ type: 'Ready', status: 'True' }] });
    assert.deepEqual(validateObject(node).status, (node as { status: unknown }).status);
  });

  test('status must be an object when given', () => {
    expectProblem(set(fixtures.node(), 'status', 'Ready'), 'status', 'must be an object: current value is "Ready"');
  });

  test('a Namespace spec takes no fields', () => {
    expectProblem(set(fixtures.namespace(), 'spec', { finalizers: ['kubernetes'] }), 'spec.finalizers', 'unknown field "finalizers"');
    expectValid(set(fixtures.namespace(), 'spec', {}));
  });
});
