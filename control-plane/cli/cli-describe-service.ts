// `bramble describe service`, laid out as kubectl's ServiceDescriber: the
// selector, type and addresses, then each port with its target and node port and
// the ready endpoints behind it (from the Service's Endpoints object), then the
// affinity and traffic policy. A pure function of the objects.
import type { KObject, Service } from '../../proto/model.js';
import { formatEndpoints, serviceExternalIp } from './cli-print.js';

type Field = [label: string, value: string];

function render(rows: Field[]): string {
  const width = Math.max(...rows.map(([l]) => l.length + 1)) + 2;
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`.trimEnd() + '\n').join('');
}

function mapLines(map: Record<string, string> | undefined, sep: string): string[] {
  const lines = Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}${sep}${v}`);
  return lines.length > 0 ? lines : ['<none>'];
}

export function describeService(obj: KObject, endpoints: KObject | undefined): string {
  const svc = obj as Service;
  const spec = svc.spec ?? { ports: [] };
  const rows: Field[] = [['Name', svc.metadata.name], ['Namespace', svc.metadata.namespace ?? '']];
  mapLines(svc.metadata.labels, '=').forEach((l, i) => rows.push([i === 0 ? 'Labels' : '', l]));
  mapLines(svc.metadata.annotations, ': ').forEach((l, i) => rows.push([i === 0 ? 'Annotations' : '', l]));
  const selector = Object.entries(spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  rows.push(['Selector', selector === '' ? '<none>' : selector]);
  const type = spec.type ?? 'ClusterIP';
  rows.push(['Type', type]);
  rows.push(['IP', spec.clusterIP ?? '<none>']);
  if (spec.clusterIPs && spec.clusterIPs.length > 0) rows.push(['IPs', spec.clusterIPs.join(',')]);
  if (type === 'LoadBalancer') rows.push(['LoadBalancer Ingress', serviceExternalIp(obj)]);
  for (const p of spec.ports ?? []) {
    const name = p.name && p.name !== '' ? p.name : '<unset>';
    const protocol = p.protocol ?? 'TCP';
    rows.push(['Port', `${name}  ${p.port}/${protocol}`]);
    const target = p.targetPort ?? p.port;
    rows.push(['TargetPort', `${target}/${protocol}`]);
    if (p.nodePort !== undefined) rows.push(['NodePort', `${name}  ${p.nodePort}/${protocol}`]);
    rows.push(['Endpoints', endpoints ? formatEndpoints(endpoints, { portName: p.name ?? '' }) : '<none>']);
  }
  rows.push(['Session Affinity', spec.sessionAffinity ?? 'None']);
  if (spec.sessionAffinity === 'ClientIP') rows.push(['Session Affinity Timeout', `${spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800}s`]);
  if (type !== 'ClusterIP') rows.push(['External Traffic Policy', spec.externalTrafficPolicy ?? 'Cluster']);
  if (spec.publishNotReadyAddresses) rows.push(['Publish Not Ready', 'true']);
  return render(rows);
}
