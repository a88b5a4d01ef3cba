// Services and Endpoints for tests and benchmarks of the Service rules.
import type { EndpointAddress, EndpointPort, Endpoints, Service, ServicePort, ServiceSpec } from '../../proto/model.js';
import type { ServiceSnapshot } from '../../agent/service-rules.js';

export function makeService(name: string, spec: Partial<ServiceSpec> & { ports: ServicePort[] }, namespace = 'default'): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, uid: `uid-svc-${namespace}-${name}` },
    spec: { type: 'ClusterIP', selector: { app: name }, ...spec },
  } as Service;
}

export interface SubsetInput {
  ready?: (string | { ip: string; nodeName?: string })[];
  notReady?: (string | { ip: string; nodeName?: string })[];
  ports: EndpointPort[];
}

const address = (a: string | { ip: string; nodeName?: string }): EndpointAddress => (typeof a === 'string' ? { ip: a, nodeName: 'board-a' } : { ...a });

export function makeEndpoints(name: string, subsets: SubsetInput[], namespace = 'default'): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace, uid: `uid-ep-${namespace}-${name}` },
    subsets: subsets.map((s) => ({
      ...(s.ready ? { addresses: s.ready.map(address) } : {}),
      ...(s.notReady ? { notReadyAddresses: s.notReady.map(address) } : {}),
      ports: s.ports,
    })),
  } as Endpoints;
}

export function makeSnapshot(services: Service[], endpoints: Endpoints[], over: Partial<ServiceSnapshot> = {}): ServiceSnapshot {
  return {
    services,
    endpoints,
    node: { name: 'board-a', addresses: ['192.168.1.10'], isLoadBalancerNode: true },
    podCIDR: '10.42.1.0/24',
    clusterCIDR: '10.42.0.0/16',
    ...over,
  };
}

/** `count` ClusterIP Services with `perService` ready endpoints each, spread over two boards: the benchmark's load. */
export function manyServices(count: number, perService: number): { services: Service[]; endpoints: Endpoints[] } {
  const services: Service[] = [];
  const endpoints: Endpoints[] = [];
  for (let i = 0; i < count; i++) {
    const name = `svc-${String(i).padStart(4, '0')}`;
    const ip = `10.43.${Math.floor((i + 10) / 250)}.${((i + 10) % 250) + 1}`;
    services.push(makeService(name, { clusterIP: ip, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] }));
    const ready = Array.from({ length: perService }, (_, j) => {
      const n = i * perService + j;
      return { ip: `10.42.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`, nodeName: j % 2 === 0 ? 'board-a' : 'board-b' };
    });
    endpoints.push(makeEndpoints(name, [{ ready, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }]));
  }
  return { services, endpoints };
}
