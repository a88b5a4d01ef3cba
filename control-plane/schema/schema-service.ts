// Service and Endpoints. What needs the cluster's state or configuration (a
// clusterIP inside the server's --service-cidr, a nodePort no other Service holds)
// is checked at apply time by control-plane/ipam/; here is everything a manifest
// alone decides.
import { z } from 'zod';
import { NODE_PORT_RANGE, SERVICE_TYPES } from '../../proto/model.js';
import { ALWAYS, addProblem, int, asArray, field } from './schema-errors.js';
import { dnsLabel, dnsSubdomain, labelMap, ruledString } from './schema-meta.js';
import { port, portOrName } from './schema-pod.js';

export const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** spec.clusterIP of a headless Service. */
export const HEADLESS = 'None';

/** kube-proxy's limit for ClientIP affinity (a day). */
const MAX_AFFINITY_SECONDS = 86400;

const ipv4 = () => ruledString((v) => (IPV4.test(v) ? undefined : 'must be an IPv4 address such as "10.42.1.5"'));

const clusterIPRule = (v: string): string | undefined =>
  v === '' || v === HEADLESS || IPV4.test(v) ? undefined : `must be an IPv4 address such as "10.43.0.10", or "${HEADLESS}" for a headless Service`;

export const servicePortSchema = z.strictObject({
  name: dnsLabel().optional(),
  protocol: z.enum(['TCP', 'UDP']).optional(),
  // Accepted as Kubernetes stores it; a hint for proxies, which Bramble's rules do not need.
  appProtocol: z.string().min(1).optional(),
  port: port(),
  targetPort: portOrName().optional(),
  nodePort: int().min(NODE_PORT_RANGE.min).max(NODE_PORT_RANGE.max).optional(),
});

const sessionAffinityConfigSchema = z.strictObject({
  clientIP: z.strictObject({ timeoutSeconds: int().min(1).max(MAX_AFFINITY_SECONDS).optional() }).optional(),
});

export const serviceSpecSchema = z
  .strictObject({
    type: z.enum(SERVICE_TYPES).optional(),
    // "None" is a headless Service (no virtual IP, its name resolves to the Pods).
    clusterIP: ruledString(clusterIPRule).optional(),
    clusterIPs: z.array(ruledString(clusterIPRule)).max(1).optional(),
    // `get -o yaml` of a Kubernetes Service has these; Bramble is IPv4 single-stack.
    ipFamilies: z.array(z.literal('IPv4')).max(1).optional(),
    // PreferDualStack falls back to one family on a single-stack cluster, as in Kubernetes.
    ipFamilyPolicy: z.enum(['SingleStack', 'PreferDualStack']).optional(),
    selector: labelMap().optional(),
    ports: z.array(servicePortSchema).min(1),
    sessionAffinity: z.enum(['None', 'ClientIP']).optional(),
    sessionAffinityConfig: sessionAffinityConfigSchema.optional(),
    externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
    publishNotReadyAddresses: z.boolean().optional(),
  })
  .superRefine((spec, ctx) => {
    const ports = asArray(field(spec, 'ports'));
    const type = field(spec, 'type') ?? 'ClusterIP';
    const clusterIP = field(spec, 'clusterIP');
    // As in Kubernetes: a NodePort forwards to a cluster IP, so it cannot be headless.
    if (clusterIP === HEADLESS && type !== 'ClusterIP') {
      addProblem(ctx, ['clusterIP'], `must not be "${HEADLESS}" when type is ${JSON.stringify(type)}`, HEADLESS);
    }
    const clusterIPs = field(spec, 'clusterIPs');
    if (Array.isArray(clusterIPs) && clusterIPs.length > 0 && clusterIP !== undefined && clusterIP !== '' && clusterIPs[0] !== clusterIP) {
      addProblem(ctx, ['clusterIPs', 0], `must be the same as clusterIP (${JSON.stringify(clusterIP)})`, clusterIPs[0]);
    }
    if (field(spec, 'externalTrafficPolicy') !== undefined && type === 'ClusterIP') {
      addProblem(ctx, ['externalTrafficPolicy'], 'may only be set when type is "NodePort" or "LoadBalancer"', field(spec, 'externalTrafficPolicy'));
    }
    if (field(spec, 'sessionAffinityConfig') !== undefined && field(spec, 'sessionAffinity') !== 'ClientIP') {
      addProblem(ctx, ['sessionAffinityConfig'], 'may only be set when sessionAffinity is "ClientIP"');
    }
    const names = new Set<string>();
    const numbers = new Set<string>();
    const nodePorts = new Map<string, number>();
    ports.forEach((p, i) => {
      const name = field(p, 'name');
      if (ports.length > 1 && (name === undefined || name === '')) addProblem(ctx, ['ports', i, 'name'], 'required when a Service has more than one port');
      if (typeof name === 'string' && name !== '') {
        if (names.has(name)) addProblem(ctx, ['ports', i, 'name'], 'must be unique within the Service', name);
        names.add(name);
      }
      const protocol = String(field(p, 'protocol') ?? 'TCP');
      const num = field(p, 'port');
      const key = `${protocol}/${String(num)}`;
      if (typeof num === 'number') {
        if (numbers.has(key)) addProblem(ctx, ['ports', i, 'port'], 'must be unique within the Service for its protocol', num);
        numbers.add(key);
      }
      const nodePort = field(p, 'nodePort');
      if (nodePort !== undefined && type === 'ClusterIP') {
        addProblem(ctx, ['ports', i, 'nodePort'], `must not be set when type is ${JSON.stringify(type)}`, nodePort);
      }
      if (typeof nodePort === 'number') {
        // One node port may serve a TCP and a UDP port of the same Service, as in Kubernetes.
        const npKey = `${protocol}/${nodePort}`;
        if (nodePorts.has(npKey)) addProblem(ctx, ['ports', i, 'nodePort'], `must be unique within the Service: ports[${nodePorts.get(npKey)}] has it`, nodePort);
        nodePorts.set(npKey, i);
      }
    });
  }, ALWAYS);

/** One Pod (or, for a Service without a selector, any address) behind a Service. */
export const endpointAddressSchema = z.strictObject({
  ip: ipv4(),
  nodeName: z.string().min(1).optional(),
  hostname: dnsLabel().optional(),
  targetRef: z
    .strictObject({
      kind: z.literal('Pod'),
      namespace: z.string().min(1).optional(),
      name: dnsSubdomain(),
      uid: z.string().min(1).optional(),
      apiVersion: z.string().optional(),
      resourceVersion: z.string().optional(),
    })
    .optional(),
});

export const endpointPortSchema = z.strictObject({
  name: dnsLabel().optional(),
  port: port(),
  protocol: z.enum(['TCP', 'UDP']).optional(),
  appProtocol: z.string().min(1).optional(),
});

export const endpointSubsetSchema = z
  .strictObject({
    addresses: z.array(endpointAddressSchema).optional(),
    notReadyAddresses: z.array(endpointAddressSchema).optional(),
    ports: z.array(endpointPortSchema).optional(),
  })
  .superRefine((subset, ctx) => {
    const ports = asArray(field(subset, 'ports'));
    const names = new Set<string>();
    ports.forEach((p, i) => {
      const name = field(p, 'name');
      if (ports.length > 1 && (name === undefined || name === '')) addProblem(ctx, ['ports', i, 'name'], 'required when a subset has more than one port');
      if (typeof name === 'string') {
        if (names.has(name)) addProblem(ctx, ['ports', i, 'name'], 'must be unique within the subset', name);
        names.add(name);
      }
    });
  }, ALWAYS);

export const endpointsFields = {
  subsets: z.array(endpointSubsetSchema).optional(),
};

