import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../proto/model.js';
import { renderDescription } from './cli-describe.js';

describe('renderDescription', () => {
  test('prints metadata as aligned lines and the spec as indented YAML', () => {
    const obj: KObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web', tier: 'front' }, creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } } },
    };
    assert.equal(
      renderDescription(obj, true),
      [
        'Name:               web',
        'Namespace:          default',
        'Kind:               Deployment',
        'Labels:             app=web',
        '                    tier=front',
        'Annotations:        <none>',
        'CreationTimestamp:  2026-01-01T00:00:00Z',
        'Spec:',
        '  replicas: 2',
        '  selector:',
        '    matchLabels:',
        '      app: web',
        '',
      ].join('\n'),
    );
  });

  test('shows a Secret\'s values as byte counts, never the data', () => {
    const secret: KObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'db', namespace: 'default' },
      data: { password: Buffer.from('hunter22').toString('base64') },
      stringData: { user: 'admin' },
    };
    const out = renderDescription(secret, true);
    assert.match(out, /^Type:\s+Opaque$/m);
    assert.match(out, /^ {2}password: +8 bytes$/m);
    assert.match(out, /^ {2}user: +5 bytes$/m);
    assert.doesNotMatch(out, /hunter22|aHVudGVyMjI|admin\n/);
  });

  test('cluster-scoped objects have no Namespace line', () => {
    const ns: KObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod' } };
    assert.doesNotMatch(renderDescription(ns, false), /Namespace:/);
  });
});
