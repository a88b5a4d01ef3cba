import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../proto/model.js';
import { describeService } from './cli-describe-service.js';

const svc: KObject = {
  apiVersion: 'v1', kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: {
    type: 'LoadBalancer', selector: { app: 'web' }, clusterIP: '10.43.0.7', clusterIPs: ['10.43.0.7'], sessionAffinity: 'ClientIP',
    ports: [{ name: 'http', port: 80, targetPort: 'web', nodePort: 30086 }, { name: 'metrics', port: 9100, nodePort: 30087 }],
  },
  status: { loadBalancer: { ingress: [{ ip: '192.168.1.9' }] } },
};

const endpoints: KObject = {
  apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'shop' },
  subsets: [{ addresses: [{ ip: '10.42.0.5' }, { ip: '10.42.1.4' }], ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9100 }] }],
};

describe('describeService', () => {
  test('shows type, addresses, each port with its target, node port and endpoints, affinity and traffic policy as kubectl does', () => {
    assert.equal(describeService(svc, endpoints), [
      'Name:                      web',
      'Namespace:                 shop',
      'Labels:                    app=web',
      'Annotations:               <none>',
      'Selector:                  app=web',
      'Type:                      LoadBalancer',
      'IP:                        10.43.0.7',
      'IPs:                       10.43.0.7',
      'LoadBalancer Ingress:      192.168.1.9',
      'Port:                      http  80/TCP',
      'TargetPort:                web/TCP',
      'NodePort:                  http  30086/TCP',
      'Endpoints:                 10.42.0.5:8080,10.42.1.4:8080',
      'Port:                      metrics  9100/TCP',
      'TargetPort:                9100/TCP',
      'NodePort:                  metrics  30087/TCP',
      'Endpoints:                 10.42.0.5:9100,10.42.1.4:9100',
      'Session Affinity:          ClientIP',
      'Session Affinity Timeout:  10800s',
      'External Traffic Policy:   Cluster',
      '',
    ].join('\n'));
  });

  test('a headless Service without Endpoints shows IP None and "<none>" endpoints', () => {
    const headless: KObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'shop' }, spec: { clusterIP: 'None', ports: [{ port: 5432 }] } };
    const out = describeService(headless, undefined);
    assert.match(out, /^IP:\s+None$/m);
    assert.match(out, /^Port:\s+<unset>  5432\/TCP$/m);
    assert.match(out, /^Endpoints:\s+<none>$/m);
    assert.match(out, /^Selector:\s+<none>$/m);
    assert.doesNotMatch(out, /External Traffic Policy/);
  });
});
