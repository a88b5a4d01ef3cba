// What `bramble get` prints: kubectl-shaped tables for people, and JSON, YAML
// or kind/name lines for scripts. Pure functions of the objects and an
// injected "now", so ages are testable.
import { stringify as toYaml } from 'yaml';
import { ARCH_LABEL, displayName, formatRequirement, selectorRequirements, type KindInfo, type KObject, type LabelSelector } from '../../proto/model.js';

export const OUTPUT_FORMATS = ['wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = 'table' | (typeof OUTPUT_FORMATS)[number];

/** Live node figures (the Top call); absent until the node's agent has reported. */
export interface NodeFiguresView {
  name: string;
  cpuPercent: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
  temperatureCelsius: number;
  hasTemperature: boolean;
}

export interface PrintContext {
  now: number;
  nodeFigures?: ReadonlyMap<string, NodeFiguresView>;
}

export interface PrintRequest extends PrintContext {
  kind: KindInfo;
  objects: KObject[];
  output: OutputFormat;
  /** -A: every namespace, with a NAMESPACE column. */
  allNamespaces: boolean;
  /** The namespace asked for, named in "No resources found in ... namespace." */
  namespace: string;
  /** `get KIND NAME`: json/yaml print the object itself, not a List. */
  single: boolean;
}

export interface Printed {
  stdout: string;
  stderr: string;
}

// ------------------------------------------------------------------ durations

/** kubectl's HumanDuration: "45s", "3m20s", "15m", "5h10m", "30h", "2d5h", "90d", "2y30d". */
export function humanDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** The AGE column: time since `timestamp` (RFC 3339), "<unknown>" when absent or unreadable. */
export function age(timestamp: unknown, now: number): string {
  if (typeof timestamp !== 'string') return '<unknown>';
  const at = Date.parse(timestamp);
  return Number.isNaN(at) ? '<unknown>' : humanDuration(now - at);
}

// ---------------------------------------------------------------- field access

/** Reads a dotted path of an object whose shape is not checked here. */
function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

function text(v: unknown, fallback = '<none>'): string {
  return typeof v === 'string' && v !== '' ? v : fallback;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function keyCount(v: unknown): number {
  return v !== null && typeof v === 'object' ? Object.keys(v).length : 0;
}

// --------------------------------------------------------------------- columns

interface Column {
  header: string;
  value(obj: KObject, ctx: PrintContext): string;
  wideOnly?: boolean;
}

const NAME: Column = { header: 'NAME', value: (o) => o.metadata.name };
const AGE: Column = { header: 'AGE', value: (o, ctx) => age(o.metadata.creationTimestamp, ctx.now) };

function podStatus(o: KObject): string {
  if (o.metadata.deletionTimestamp) return 'Terminating';
  const init = initStatus(o);
  if (init) return init;
  const statuses = list(at(o, 'status.containerStatuses'));
  for (const s of statuses) {
    const waiting = at(s, 'state.waiting.reason');
    if (typeof waiting === 'string' && waiting !== '') return waiting;
  }
  const phase = text(at(o, 'status.phase'), 'Pending');
  if (phase !== 'Running') {
    for (const s of statuses) {
      const reason = at(s, 'state.terminated.reason');
      if (typeof reason === 'string' && reason !== '' && phase !== 'Succeeded') return reason;
    }
  }
  return text(at(o, 'status.reason'), phase);
}

/** "Init:1/2", "Init:Error", "Init:CrashLoopBackOff" while init containers run, as kubectl prints them. */
function initStatus(o: KObject): string | undefined {
  const specs = list(at(o, 'spec.initContainers'));
  const statuses = list(at(o, 'status.initContainerStatuses'));
  const initialized = list(at(o, 'status.conditions')).some((c) => at(c, 'type') === 'Initialized' && at(c, 'status') === 'True');
  if (initialized) return undefined;
  for (let i = 0; i < statuses.length; i++) {
    const s = statuses[i];
    const exitCode = at(s, 'state.terminated.exitCode');
    if (exitCode === 0) continue;
    const sidecar = at(specs.find((c) => at(c, 'name') === at(s, 'name')), 'restartPolicy') === 'Always';
    if (sidecar && at(s, 'started') === true) continue;
    if (typeof exitCode === 'number') return `Init:${text(at(s, 'state.terminated.reason'), `ExitCode:${exitCode}`)}`;
    const waiting = at(s, 'state.waiting.reason');
    if (typeof waiting === 'string' && waiting !== '' && waiting !== 'PodInitializing') return `Init:${waiting}`;
    return `Init:${i}/${specs.length}`;
  }
  return undefined;
}

/** Sidecars (init containers with restartPolicy Always) count beside the app containers, as in kubectl. */
function podReady(o: KObject): string {
  const sidecars = new Set(list(at(o, 'spec.initContainers')).filter((c) => at(c, 'restartPolicy') === 'Always').map((c) => at(c, 'name')));
  const statuses = [...list(at(o, 'status.containerStatuses')), ...list(at(o, 'status.initContainerStatuses')).filter((s) => sidecars.has(at(s, 'name')))];
  const ready = statuses.filter((s) => at(s, 'ready') === true).length;
  return `${ready}/${list(at(o, 'spec.containers')).length + sidecars.size}`;
}

function servicePorts(o: KObject): string {
  const ports = list(at(o, 'spec.ports')).map((p) => {
    const nodePort = at(p, 'nodePort');
    const proto = text(at(p, 'protocol'), 'TCP');
    return typeof nodePort === 'number' ? `${num(at(p, 'port'))}:${nodePort}/${proto}` : `${num(at(p, 'port'))}/${proto}`;
  });
  return ports.length > 0 ? ports.join(',') : '<none>';
}

/** kubectl's EXTERNAL-IP: a LoadBalancer's ingress addresses, "<pending>" until it has some, "<none>" for other types. */
export function serviceExternalIp(o: KObject): string {
  if (at(o, 'spec.type') !== 'LoadBalancer') return '<none>';
  const ips = list(at(o, 'status.loadBalancer.ingress')).map((i) => text(at(i, 'ip'), '')).filter((ip) => ip !== '');
  return ips.length > 0 ? ips.join(',') : '<pending>';
}

/**
 * kubectl's ENDPOINTS column (formatEndpoints): ready "ip:port" pairs, subset by
 * subset and port by port, at most `max` of them and "+ N more..." for the rest.
 */
export function formatEndpoints(o: KObject, opts: { max?: number; portName?: string } = {}): string {
  const max = opts.max ?? 3;
  const subsets = list(o['subsets']);
  if (subsets.length === 0) return '<none>';
  const shown: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    const addresses = list(at(ss, 'addresses')).map((a) => text(at(a, 'ip'), ''));
    // describe's per-port line: only the Endpoints port of that name (unnamed: '').
    const ports = list(at(ss, 'ports')).filter((p) => opts.portName === undefined || text(at(p, 'name'), '') === opts.portName);
    const pairs = ports.length === 0 ? addresses : ports.flatMap((p) => addresses.map((ip) => `${ip}:${num(at(p, 'port'))}`));
    count += pairs.length;
    for (const pair of pairs) if (shown.length < max) shown.push(pair);
  }
  if (count > shown.length) return `${shown.join(',')} + ${count - shown.length} more...`;
  return shown.length > 0 ? shown.join(',') : '<none>';
}

function mapText(v: unknown): string {
  if (v === null || typeof v !== 'object' || Object.keys(v).length === 0) return '<none>';
  return Object.entries(v as Record<string, unknown>).map(([k, val]) => `${k}=${String(val)}`).join(',');
}

/** A structured selector (matchLabels and matchExpressions) as kubectl's wide SELECTOR column shows it. */
function selectorText(v: unknown): string {
  if (v === null || typeof v !== 'object') return '<none>';
  const shown = selectorRequirements(v as LabelSelector).map(formatRequirement).join(',');
  return shown === '' ? '<none>' : shown;
}

function containersOf(o: KObject, specPath: string): { names: string; images: string } {
  const cs = list(at(o, specPath));
  return {
    names: cs.map((c) => text(at(c, 'name'), '')).join(',') || '<none>',
    images: cs.map((c) => text(at(c, 'image'), '')).join(',') || '<none>',
  };
}

function nodeStatus(o: KObject): string {
  const ready = list(at(o, 'status.conditions')).find((c) => at(c, 'type') === 'Ready');
  const s = ready === undefined ? 'Unknown' : at(ready, 'status') === 'True' ? 'Ready' : 'NotReady';
  return at(o, 'spec.unschedulable') === true ? `${s},SchedulingDisabled` : s;
}

function nodeRoles(o: KObject): string {
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter((r) => r !== '');
  return roles.length > 0 ? roles.sort().join(',') : '<none>';
}

function figure(o: KObject, ctx: PrintContext, show: (f: NodeFiguresView) => string): string {
  const f = ctx.nodeFigures?.get(o.metadata.name);
  return f ? show(f) : '<unknown>';
}

function jobDuration(o: KObject, ctx: PrintContext): string {
  const start = at(o, 'status.startTime');
  if (typeof start !== 'string') return '';
  const end = at(o, 'status.completionTime');
  const until = typeof end === 'string' ? Date.parse(end) : ctx.now;
  return humanDuration(until - Date.parse(start));
}

function hasTrueCondition(o: KObject, type: string): boolean {
  return list(at(o, 'status.conditions')).some((c) => at(c, 'type') === type && at(c, 'status') === 'True');
}

/** kubectl 1.28+'s Job STATUS: the finished condition first, then Terminating, Suspended, else Running. */
function jobStatus(o: KObject): string {
  if (hasTrueCondition(o, 'Complete')) return 'Complete';
  if (hasTrueCondition(o, 'Failed')) return 'Failed';
  if (o.metadata.deletionTimestamp) return 'Terminating';
  if (hasTrueCondition(o, 'Suspended')) return 'Suspended';
  if (hasTrueCondition(o, 'FailureTarget')) return 'FailureTarget';
  if (hasTrueCondition(o, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

/** "2/3"; a work-queue Job (no completions) shows "0/1", or "0/1 of 3" with parallelism 3, as kubectl does. */
function jobCompletions(o: KObject): string {
  const succeeded = num(at(o, 'status.succeeded'));
  const completions = at(o, 'spec.completions');
  if (typeof completions === 'number') return `${succeeded}/${completions}`;
  const parallelism = num(at(o, 'spec.parallelism'), 1);
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

const COLUMNS: Record<string, Column[]> = {
  Pod: [
    NAME,
    { header: 'READY', value: podReady },
    { header: 'STATUS', value: podStatus },
    {
      header: 'RESTARTS',
      value: (o) => String(list(at(o, 'status.containerStatuses')).reduce<number>((n, s) => n + num(at(s, 'restartCount')), 0)),
    },
    AGE,
    { header: 'IP', value: (o) => text(at(o, 'status.podIP')), wideOnly: true },
    { header: 'NODE', value: (o) => text(at(o, 'spec.nodeName')), wideOnly: true },
  ],
  Deployment: [
    NAME,
    { header: 'READY', value: (o) => `${num(at(o, 'status.readyReplicas'))}/${num(at(o, 'spec.replicas'), 1)}` },
    { header: 'UP-TO-DATE', value: (o) => String(num(at(o, 'status.updatedReplicas'))) },
    { header: 'AVAILABLE', value: (o) => String(num(at(o, 'status.availableReplicas'))) },
    AGE,
    { header: 'CONTAINERS', value: (o) => containersOf(o, 'spec.template.spec.containers').names, wideOnly: true },
    { header: 'IMAGES', value: (o) => containersOf(o, 'spec.template.spec.containers').images, wideOnly: true },
    { header: 'SELECTOR', value: (o) => selectorText(at(o, 'spec.selector')), wideOnly: true },
  ],
  ReplicaSet: [
    NAME,
    { header: 'DESIRED', value: (o) => String(num(at(o, 'spec.replicas'), 1)) },
    { header: 'CURRENT', value: (o) => String(num(at(o, 'status.replicas'))) },
    { header: 'READY', value: (o) => String(num(at(o, 'status.readyReplicas'))) },
    AGE,
    { header: 'CONTAINERS', value: (o) => containersOf(o, 'spec.template.spec.containers').names, wideOnly: true },
    { header: 'IMAGES', value: (o) => containersOf(o, 'spec.template.spec.containers').images, wideOnly: true },
    { header: 'SELECTOR', value: (o) => selectorText(at(o, 'spec.selector')), wideOnly: true },
  ],
  Service: [
    NAME,
    { header: 'TYPE', value: (o) => text(at(o, 'spec.type'), 'ClusterIP') },
    { header: 'CLUSTER-IP', value: (o) => text(at(o, 'spec.clusterIP')) },
    { header: 'EXTERNAL-IP', value: serviceExternalIp },
    { header: 'PORT(S)', value: servicePorts },
    AGE,
    { header: 'SELECTOR', value: (o) => mapText(at(o, 'spec.selector')), wideOnly: true },
  ],
  Endpoints: [NAME, { header: 'ENDPOINTS', value: (o) => formatEndpoints(o) }, AGE],
  ConfigMap: [NAME, { header: 'DATA', value: (o) => String(keyCount(o.data) + keyCount(o.binaryData)) }, AGE],
  Secret: [
    NAME,
    { header: 'TYPE', value: (o) => text(o.type, 'Opaque') },
    { header: 'DATA', value: (o) => String(keyCount(o.data) + keyCount(o.stringData)) },
    AGE,
  ],
  Namespace: [NAME, { header: 'STATUS', value: (o) => text(at(o, 'status.phase'), 'Active') }, AGE],
  Job: [
    NAME,
    { header: 'STATUS', value: jobStatus },
    { header: 'COMPLETIONS', value: jobCompletions },
    { header: 'DURATION', value: jobDuration },
    AGE,
    { header: 'CONTAINERS', value: (o) => containersOf(o, 'spec.template.spec.containers').names, wideOnly: true },
    { header: 'IMAGES', value: (o) => containersOf(o, 'spec.template.spec.containers').images, wideOnly: true },
    { header: 'SELECTOR', value: (o) => selectorText(at(o, 'spec.selector') ?? { matchLabels: { 'batch.kubernetes.io/controller-uid': o.metadata.uid ?? '' } }), wideOnly: true },
  ],
  CronJob: [
    NAME,
    { header: 'SCHEDULE', value: (o) => text(at(o, 'spec.schedule')) },
    { header: 'TIMEZONE', value: (o) => text(at(o, 'spec.timeZone')) },
    { header: 'SUSPEND', value: (o) => (at(o, 'spec.suspend') === true ? 'True' : 'False') },
    { header: 'ACTIVE', value: (o) => String(list(at(o, 'status.active')).length) },
    {
      header: 'LAST SCHEDULE',
      value: (o, ctx) => (at(o, 'status.lastScheduleTime') === undefined ? '<none>' : age(at(o, 'status.lastScheduleTime'), ctx.now)),
    },
    AGE,
  ],
  DaemonSet: [
    NAME,
    { header: 'DESIRED', value: (o) => String(num(at(o, 'status.desiredNumberScheduled'))) },
    { header: 'CURRENT', value: (o) => String(num(at(o, 'status.currentNumberScheduled'))) },
    { header: 'READY', value: (o) => String(num(at(o, 'status.numberReady'))) },
    { header: 'UP-TO-DATE', value: (o) => String(num(at(o, 'status.updatedNumberScheduled'))) },
    { header: 'AVAILABLE', value: (o) => String(num(at(o, 'status.numberAvailable'))) },
    { header: 'NODE SELECTOR', value: (o) => mapText(at(o, 'spec.template.spec.nodeSelector')) },
    AGE,
    { header: 'CONTAINERS', value: (o) => containersOf(o, 'spec.template.spec.containers').names, wideOnly: true },
    { header: 'IMAGES', value: (o) => containersOf(o, 'spec.template.spec.containers').images, wideOnly: true },
    { header: 'SELECTOR', value: (o) => selectorText(at(o, 'spec.selector')), wideOnly: true },
  ],
  // kubectl's event columns: no NAME (a generated one says nothing), the object as kind/name.
  Event: [
    { header: 'LAST SEEN', value: (o, ctx) => age(at(o, 'lastTimestamp') ?? at(o, 'eventTime') ?? at(o, 'firstTimestamp') ?? o.metadata.creationTimestamp, ctx.now) },
    { header: 'TYPE', value: (o) => text(at(o, 'type'), '') },
    { header: 'REASON', value: (o) => text(at(o, 'reason'), '') },
    { header: 'OBJECT', value: (o) => `${text(at(o, 'involvedObject.kind'), '').toLowerCase()}/${text(at(o, 'involvedObject.name'), '')}` },
    { header: 'SUBOBJECT', value: (o) => text(at(o, 'involvedObject.fieldPath'), ''), wideOnly: true },
    { header: 'SOURCE', value: (o) => [text(at(o, 'source.component'), ''), text(at(o, 'source.host'), '')].filter((x) => x !== '').join(', '), wideOnly: true },
    { header: 'MESSAGE', value: (o) => text(at(o, 'message'), '') },
    { header: 'FIRST SEEN', value: (o, ctx) => age(at(o, 'firstTimestamp'), ctx.now), wideOnly: true },
    { header: 'COUNT', value: (o) => String(num(at(o, 'count'), 1)), wideOnly: true },
    { header: 'NAME', value: (o) => o.metadata.name, wideOnly: true },
  ],
  Node: [
    NAME,
    { header: 'STATUS', value: nodeStatus },
    { header: 'ROLES', value: nodeRoles },
    AGE,
    { header: 'VERSION', value: (o) => text(at(o, 'status.nodeInfo.kubeletVersion'), '<unknown>') },
    { header: 'ARCH', value: (o) => text(at(o, 'status.nodeInfo.architecture'), text(o.metadata.labels?.[ARCH_LABEL], '<unknown>')) },
    { header: 'CPU%', value: (o, ctx) => figure(o, ctx, (f) => `${Math.round(f.cpuPercent)}%`) },
    {
      header: 'MEM%',
      value: (o, ctx) =>
        figure(o, ctx, (f) => (f.memoryTotalBytes > 0 ? `${Math.round((100 * f.memoryUsedBytes) / f.memoryTotalBytes)}%` : '<unknown>')),
    },
    { header: 'TEMP', value: (o, ctx) => figure(o, ctx, (f) => (f.hasTemperature ? `${f.temperatureCelsius.toFixed(1)}°C` : '<none>')) },
    {
      header: 'INTERNAL-IP',
      value: (o) => text(at(list(at(o, 'status.addresses')).find((a) => at(a, 'type') === 'InternalIP'), 'address')),
      wideOnly: true,
    },
    { header: 'OS-IMAGE', value: (o) => text(at(o, 'status.nodeInfo.osImage'), '<unknown>'), wideOnly: true },
    { header: 'KERNEL-VERSION', value: (o) => text(at(o, 'status.nodeInfo.kernelVersion'), '<unknown>'), wideOnly: true },
    { header: 'CONTAINER-RUNTIME', value: (o) => text(at(o, 'status.nodeInfo.containerRuntimeVersion'), '<unknown>'), wideOnly: true },
  ],
};

/** Lays out rows in columns three spaces apart, like kubectl's tabwriter; the last column is not padded. */
export function renderTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - [...cell].length + 3))).join(''))
    .map((line) => line.trimEnd() + '\n')
    .join('');
}

function columnsFor(kind: KindInfo, wide: boolean, allNamespaces: boolean): Column[] {
  const base = (COLUMNS[kind.kind] ?? [NAME, AGE]).filter((c) => wide || !c.wideOnly);
  return allNamespaces && kind.namespaced ? [{ header: 'NAMESPACE', value: (o) => o.metadata.namespace ?? '' }, ...base] : base;
}

export function asList(objects: KObject[]): { apiVersion: 'v1'; kind: 'List'; items: KObject[] } {
  return { apiVersion: 'v1', kind: 'List', items: objects };
}

export function printObjects(req: PrintRequest): Printed {
  const { objects, output } = req;
  if (output === 'json' || output === 'yaml') {
    const value = req.single && objects.length === 1 ? objects[0] : asList(objects);
    return { stdout: output === 'json' ? JSON.stringify(value, null, 2) + '\n' : toYaml(value), stderr: '' };
  }
  if (objects.length === 0) {
    const where = req.kind.namespaced && !req.allNamespaces ? ` in ${req.namespace} namespace` : '';
    return { stdout: '', stderr: `No resources found${where}.\n` };
  }
  if (output === 'name') return { stdout: objects.map((o) => displayName(o) + '\n').join(''), stderr: '' };
  const columns = columnsFor(req.kind, output === 'wide', req.allNamespaces);
  const rows = [columns.map((c) => c.header), ...objects.map((o) => columns.map((c) => c.value(o, req)))];
  return { stdout: renderTable(rows), stderr: '' };
}
