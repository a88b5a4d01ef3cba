import { describe, test } from 'node:test';
import { expectProblem, expectValid, fixtures, set } from '../testing/schema-fixtures.js';

describe('Service', () => {
  const svc = (path: string, value: unknown) => set(fixtures.service(), path, value);

  test('type must be ClusterIP, NodePort or LoadBalancer', () => {
    expectValid(svc('spec.type', 'LoadBalancer'));
    expectProblem(svc('spec.type', 'ExternalName'), 'spec.type', 'must be one of "ClusterIP", "NodePort", "LoadBalancer": current value is "ExternalName"');
  });

  test('a Service needs at least one port, each between 1 and 65535', () => {
    expectProblem(svc('spec.ports', []), 'spec.ports', 'must have at least 1 item');
    expectProblem(svc('spec.ports[0].port', 0), 'spec.ports[0].port', 'must be greater than or equal to 1');
    expectProblem(svc('spec.ports[0].port', 65536), 'spec.ports[0].port', 'must be less than or equal to 65535');
  });

  test('targetPort is a port number or a port name', () => {
    expectValid(svc('spec.ports[0].targetPort', 'http'));
    expectProblem(svc('spec.ports[0].targetPort', 'Http Port'), 'spec.ports[0].targetPort', 'must be a port name');
    expectProblem(svc('spec.ports[0].targetPort', 99999), 'spec.ports[0].targetPort', 'must be less than or equal to 65535: current value is 99999');
  });

  test('protocol must be TCP or UDP', () => {
    expectProblem(svc('spec.ports[0].protocol', 'tcp'), 'spec.ports[0].protocol', 'must be one of "TCP", "UDP": current value is "tcp"');
  });

  test('nodePort must be in 30000-32767 and only with type NodePort or LoadBalancer', () => {
    const nodePort = svc('spec.type', 'NodePort');
    expectProblem(set(nodePort, 'spec.ports[0].nodePort', 8080), 'spec.ports[0].nodePort', 'must be greater than or equal to 30000: current value is 8080');
    expectProblem(set(svc('spec.type', 'NodePort'), 'spec.ports[0].nodePort', 32768), 'spec.ports[0].nodePort', 'must be less than or equal to 32767');
    expectProblem(svc('spec.ports[0].nodePort', 30080), 'spec.ports[0].nodePort', 'must not be set when type is "ClusterIP"');
    expectValid(set(svc('spec.type', 'NodePort'), 'spec.ports[0].nodePort', 30080));
    expectValid(set(svc('spec.type', 'LoadBalancer'), 'spec.ports[0].nodePort', 30080));
  });

  test('a nodePort may appear twice in a Service only for a TCP and a UDP port', () => {
    const ports = (second: Record<string, unknown>) => set(svc('spec.type', 'NodePort'), 'spec.ports', [{ name: 'a', port: 53, nodePort: 30053 }, { name: 'b', port: 54, nodePort: 30053, ...second }]);
    expectProblem(ports({}), 'spec.ports[1].nodePort', 'must be unique within the Service: ports[0] has it: current value is 30053');
    expectValid(ports({ protocol: 'UDP' }));
  });

  test('clusterIP "None" makes a headless Service, which cannot also be a NodePort', () => {
    expectValid(svc('spec.clusterIP', 'None'));
    const headlessNodePort = set(svc('spec.clusterIP', 'None'), 'spec.type', 'NodePort');
    expectProblem(headlessNodePort, 'spec.clusterIP', 'must not be "None" when type is "NodePort": current value is "None"');
  });

  test('several ports need unique names and unique numbers per protocol', () => {
    expectProblem(svc('spec.ports', [{ port: 80 }, { name: 'b', port: 81 }]), 'spec.ports[0].name', 'required when a Service has more than one port');
    expectProblem(svc('spec.ports', [{ name: 'a', port: 80 }, { name: 'a', port: 81 }]), 'spec.ports[1].name', 'must be unique within the Service');
    expectProblem(svc('spec.ports', [{ name: 'a', port: 80 }, { name: 'b', port: 80 }]), 'spec.ports[1].port', 'must be unique within the Service for its protocol');
    expectValid(svc('spec.ports', [{ name: 'dns', port: 53 }, { name: 'dns-udp', port: 53, protocol: 'UDP' }]));
  });

  test('clusterIP must be an IPv4 address and the selector follow label rules', () => {
    expectProblem(svc('spec.clusterIP', '10.43.0.300'), 'spec.clusterIP', 'must be an IPv4 address');
    expectValid(svc('spec.clusterIP', '10.43.0.10'));
    expectProblem(svc('spec.clusterIP', 'none'), 'spec.clusterIP', 'or "None" for a headless Service: current value is "none"');
    expectProblem(svc('spec.selector', { app: 'web server' }), 'spec.selector.app', 'must be empty or consist');
  });

  test('the selector must be a map of label values, not a list or a structured selector', () => {
    expectProblem(svc('spec.selector', ['app=web']), 'spec.selector', 'must be an object');
    expectProblem(svc('spec.selector', { matchLabels: { app: 'web' } }), 'spec.selector.matchLabels', 'must be a string');
    expectValid(svc('spec.selector', undefined));
  });

  test('externalTrafficPolicy is only for NodePort and LoadBalancer Services', () => {
    expectProblem(svc('spec.externalTrafficPolicy', 'Local'), 'spec.externalTrafficPolicy', 'may only be set when type is "NodePort" or "LoadBalancer": current value is "Local"');
    expectValid(set(svc('spec.type', 'NodePort'), 'spec.externalTrafficPolicy', 'Local'));
    expectValid(set(svc('spec.type', 'LoadBalancer'), 'spec.externalTrafficPolicy', 'Cluster'));
    expectProblem(set(svc('spec.type', 'NodePort'), 'spec.externalTrafficPolicy', 'local'), 'spec.externalTrafficPolicy', 'must be one of "Cluster", "Local"');
  });

  test('sessionAffinity is None or ClientIP, with a timeout from 1 second to a day', () => {
    const affinity = (seconds: unknown) => set(svc('spec.sessionAffinity', 'ClientIP'), 'spec.sessionAffinityConfig', { clientIP: { timeoutSeconds: seconds } });
    expectValid(affinity(10800));
    expectProblem(affinity(0), 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', 'must be greater than or equal to 1: current value is 0');
    expectProblem(affinity(86401), 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', 'must be less than or equal to 86400');
    expectProblem(svc('spec.sessionAffinity', 'Sticky'), 'spec.sessionAffinity', 'must be one of "None", "ClientIP"');
    expectProblem(svc('spec.sessionAffinityConfig', { clientIP: { timeoutSeconds: 5 } }), 'spec.sessionAffinityConfig', 'may only be set when sessionAffinity is "ClientIP"');
  });

  test('publishNotReadyAddresses is a boolean', () => {
    expectValid(svc('spec.publishNotReadyAddresses', true));
    expectProblem(svc('spec.publishNotReadyAddresses', 'yes'), 'spec.publishNotReadyAddresses', 'must be a boolean');
  });

  test('clusterIPs, when given, starts with clusterIP', () => {
    expectValid(set(svc('spec.clusterIP', '10.43.0.9'), 'spec.clusterIPs', ['10.43.0.9']));
    expectValid(svc('spec.clusterIPs', ['10.43.0.9']));
    expectProblem(set(svc('spec.clusterIP', '10.43.0.9'), 'spec.clusterIPs', ['10.43.0.8']), 'spec.clusterIPs[0]', 'must be the same as clusterIP ("10.43.0.9"): current value is "10.43.0.8"');
    expectProblem(svc('spec.clusterIPs', ['10.43.0.9', '10.43.0.8']), 'spec.clusterIPs', 'must have no more than 1 item');
  });
});

describe('Endpoints', () => {
  const ep = (path: string, value: unknown) => set(fixtures.endpoints(), path, value);

  test('addresses are IPv4 addresses with an optional node, hostname and Pod reference', () => {
    expectValid(ep('subsets[0].notReadyAddresses', [{ ip: '10.42.0.7', hostname: 'db-0' }]));
    expectProblem(ep('subsets[0].addresses[0].ip', '10.42.0.256'), 'subsets[0].addresses[0].ip', 'must be an IPv4 address such as "10.42.1.5": current value is "10.42.0.256"');
    expectProblem(ep('subsets[0].addresses[0].targetRef.kind', 'Node'), 'subsets[0].addresses[0].targetRef.kind', 'must be one of "Pod": current value is "Node"');
    expectProblem(ep('subsets[0].addresses[0].hostname', 'Db_0'), 'subsets[0].addresses[0].hostname', 'current value is "Db_0"');
  });

  test('ports are 1-65535, TCP or UDP, and named when there are several', () => {
    expectProblem(ep('subsets[0].ports[0].port', 0), 'subsets[0].ports[0].port', 'must be greater than or equal to 1');
    expectProblem(ep('subsets[0].ports[0].protocol', 'SCTP'), 'subsets[0].ports[0].protocol', 'must be one of "TCP", "UDP"');
    expectProblem(ep('subsets[0].ports', [{ port: 80 }, { name: 'b', port: 81 }]), 'subsets[0].ports[0].name', 'required when a subset has more than one port');
    expectValid(ep('subsets', []));
  });

  test('an unknown field is refused by its path', () => {
    expectProblem(ep('subsets[0].address', []), 'subsets[0].address', 'unknown field "address"');
  });
});
