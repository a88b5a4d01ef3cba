// `bramble describe` for Deployments, DaemonSets, ReplicaSets and Jobs, laid out as
// kubectl's describers lay them out: aligned "Label:  value" lines, the replica
// counts on one line, the Pod template, conditions as a table, and the objects
// the workload owns (ReplicaSets, Pods), which is what a person debugging a
// stuck rollout looks at next. Pure functions of the objects and "now".
import {
  POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, formatRequirement, resolveKind, selectorRequirements,
  type Condition, type Container, type KObject, type LabelSelector, type PodTemplateSpec,
} from '../../proto/model.js';
import { humanDuration, printObjects } from './cli-print.js';
import { controllerRef, revisionOf, sameTemplateIgnoringLabel } from './cli-workload.js';

export interface WorkloadRelations {
  /** A Deployment's ReplicaSets (controlled by it). */
  replicaSets?: KObject[];
  /** The Pods the workload controls, directly or through its ReplicaSets. */
  pods: KObject[];
  now: number;
}

type Field = [label: string, value: string | string[]];

/** kubectl's tabwriter layout: values start two spaces after the longest label; list values continue under the first. */
function fields(rows: Field[], indent = ''): string {
  const width = Math.max(...rows.map(([l]) => l.length + 1)) + 2;
  let out = '';
  for (const [label, value] of rows) {
    const lines = typeof value === 'string' ? [value] : value.length === 0 ? ['<none>'] : value;
    lines.forEach((v, i) => (out += `${indent}${(i === 0 ? `${label}:` : '').padEnd(width)}${v}`.trimEnd() + '\n'));
  }
  return out;
}

function labelLines(map: Record<string, string> | undefined): string[] {
  return Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);
}

function annotationLines(map: Record<string, string> | undefined): string[] {
  return Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}: ${v}`);
}

function selectorText(sel: unknown): string {
  if (sel === null || typeof sel !== 'object') return '<none>';
  return selectorRequirements(sel as LabelSelector).map(formatRequirement).join(',') || '<none>';
}

function n(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function metaRows(obj: KObject): Field[] {
  const m = obj.metadata;
  return [
    ['Name', m.name],
    ['Namespace', m.namespace ?? ''],
    ['CreationTimestamp', m.creationTimestamp ?? '<unknown>'],
    ['Labels', labelLines(m.labels)],
    ['Annotations', annotationLines(m.annotations)],
  ];
}

function containerBlock(c: Container): string {
  const rows: Field[] = [['Image', c.image]];
  const ports = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`);
  rows.push(['Port', ports.length > 0 ? ports.join(', ') : '<none>']);
  if (c.command) rows.push(['Command', c.command]);
  if (c.args) rows.push(['Args', c.args]);
  if (c.resources?.limits) rows.push(['Limits', labelLines(c.resources.limits).map((l) => l.replace('=', ': '))]);
  if (c.resources?.requests) rows.push(['Requests', labelLines(c.resources.requests).map((l) => l.replace('=', ': '))]);
  rows.push(['Environment', (c.env ?? []).map((e) => `${e.name}: ${e.value ?? (e.valueFrom ? '<set from a reference>' : '')}`)]);
  rows.push(['Mounts', (c.volumeMounts ?? []).map((v) => `${v.mountPath} from ${v.name} (${v.readOnly ? 'ro' : 'rw'})`)]);
  return `   ${c.name}:\n${fields(rows, '    ')}`;
}

/** kubectl's DescribePodTemplate, shortened to what a Bramble template has. */
export function describePodTemplate(template: PodTemplateSpec | undefined): string {
  if (!template) return 'Pod Template:  <none>\n';
  let out = 'Pod Template:\n';
  out += fields([['Labels', labelLines(template.metadata?.labels)], ['Annotations', annotationLines(template.metadata?.annotations)]], '  ');
  const spec = template.spec;
  if ((spec.initContainers ?? []).length > 0) out += `  Init Containers:\n${spec.initContainers!.map(containerBlock).join('')}`;
  out += `  Containers:\n${spec.containers.map(containerBlock).join('')}`;
  out += fields([
    ['Volumes', (spec.volumes ?? []).map((v) => `${v.name} (${Object.keys(v).filter((k) => k !== 'name').join(', ') || 'unknown'})`)],
    ['Node-Selectors', labelLines(spec.nodeSelector)],
  ], '  ');
  return out;
}

function conditionsTable(conditions: Condition[] | undefined): string {
  if (!conditions || conditions.length === 0) return 'Conditions:  <none>\n';
  const rows = [['Type', 'Status', 'Reason'], ['----', '------', '------'], ...conditions.map((c) => [c.type, c.status, c.reason ?? ''])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return 'Conditions:\n' + rows.map((r) => `  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join('')}`.trimEnd() + '\n').join('');
}

function podsSection(pods: KObject[], now: number): string {
  if (pods.length === 0) return 'Pods:  <none>\n';
  const podKind = resolveKind('Pod')!;
  const table = printObjects({ kind: podKind, objects: pods, output: 'table', allNamespaces: false, namespace: '', single: false, now }).stdout;
  return 'Pods:\n' + table.split('\n').filter((l) => l !== '').map((l) => `  ${l}\n`).join('');
}

/** kubectl's "Pods Status" line: Pending Pods count as Waiting. */
function podsStatus(pods: KObject[]): string {
  const phase = (p: KObject): string => ((p.status as { phase?: string } | undefined)?.phase ?? 'Pending');
  const count = (ph: string): number => pods.filter((p) => phase(p) === ph).length;
  return `${count('Running')} Running / ${count('Pending')} Waiting / ${count('Succeeded')} Succeeded / ${count('Failed')} Failed`;
}

function rsSummary(rs: KObject): string {
  return `${rs.metadata.name} (${n((rs.status as { replicas?: number } | undefined)?.replicas)}/${n((rs.spec as { replicas?: number }).replicas ?? 1)} replicas created)`;
}

/** The new ReplicaSet is the one running the Deployment's template; old ones still wanting Pods are listed, as kubectl does. */
export function splitReplicaSets(deployment: KObject, replicaSets: KObject[]): { newRs: KObject | undefined; oldRs: KObject[] } {
  const template = (deployment.spec as { template?: PodTemplateSpec }).template;
  const byRevision = [...replicaSets].sort((a, b) => (revisionOf(b, REVISION_ANNOTATION) ?? 0) - (revisionOf(a, REVISION_ANNOTATION) ?? 0));
  const newRs = byRevision.find((rs) => sameTemplateIgnoringLabel((rs.spec as { template?: PodTemplateSpec }).template, template, POD_TEMPLATE_HASH_LABEL));
  const oldRs = byRevision.filter((rs) => rs !== newRs && n((rs.spec as { replicas?: number }).replicas ?? 1) > 0);
  return { newRs, oldRs };
}

export function describeDeployment(d: KObject, rel: WorkloadRelations): string {
  const spec = d.spec as { replicas?: number; selector?: unknown; minReadySeconds?: number; paused?: boolean; template?: PodTemplateSpec;
    strategy?: { type?: string; rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } } };
  const st = (d.status ?? {}) as { replicas?: number; updatedReplicas?: number; availableReplicas?: number; unavailableReplicas?: number; conditions?: Condition[] };
  const type = spec.strategy?.type ?? 'RollingUpdate';
  const rows: Field[] = [
    ...metaRows(d),
    ['Selector', selectorText(spec.selector)],
    ['Replicas', `${spec.replicas ?? 1} desired | ${n(st.updatedReplicas)} updated | ${n(st.replicas)} total | ${n(st.availableReplicas)} available | ${n(st.unavailableReplicas)} unavailable`],
    ['StrategyType', type],
    ['MinReadySeconds', String(spec.minReadySeconds ?? 0)],
  ];
  if (type === 'RollingUpdate') {
    const ru = spec.strategy?.rollingUpdate;
    rows.push(['RollingUpdateStrategy', `${ru?.maxUnavailable ?? '25%'} max unavailable, ${ru?.maxSurge ?? '25%'} max surge`]);
  }
  if (spec.paused) rows.push(['Paused', 'true']);
  let out = fields(rows) + describePodTemplate(spec.template) + conditionsTable(st.conditions);
  const { newRs, oldRs } = splitReplicaSets(d, rel.replicaSets ?? []);
  out += fields([['OldReplicaSets', oldRs.length > 0 ? oldRs.map(rsSummary).join(', ') : '<none>'], ['NewReplicaSet', newRs ? rsSummary(newRs) : '<none>']]);
  return out + podsSection(rel.pods, rel.now);
}

export function describeDaemonSet(ds: KObject, rel: WorkloadRelations): string {
  const spec = ds.spec as { selector?: unknown; template?: PodTemplateSpec; updateStrategy?: { type?: string } };
  const st = (ds.status ?? {}) as Record<string, unknown>;
  const rows: Field[] = [
    ...metaRows(ds),
    ['Selector', selectorText(spec.selector)],
    ['Node-Selector', labelLines(spec.template?.spec.nodeSelector)],
    ['UpdateStrategy', spec.updateStrategy?.type ?? 'RollingUpdate'],
    ['Desired Number of Nodes Scheduled', String(n(st.desiredNumberScheduled))],
    ['Current Number of Nodes Scheduled', String(n(st.currentNumberScheduled))],
    ['Number of Nodes Scheduled with Ready Pods', String(n(st.numberReady))],
    ['Number of Nodes Scheduled with Up-to-date Pods', String(n(st.updatedNumberScheduled))],
    ['Number of Nodes Scheduled with Available Pods', String(n(st.numberAvailable))],
    ['Number of Nodes Misscheduled', String(n(st.numberMisscheduled))],
    ['Pods Status', podsStatus(rel.pods)],
  ];
  return fields(rows) + describePodTemplate(spec.template) + podsSection(rel.pods, rel.now);
}

export function describeReplicaSet(rs: KObject, rel: WorkloadRelations): string {
  const spec = rs.spec as { replicas?: number; selector?: unknown; template?: PodTemplateSpec };
  const owner = controllerRef(rs);
  const rows: Field[] = [...metaRows(rs), ['Selector', selectorText(spec.selector)]];
  if (owner) rows.push(['Controlled By', `${owner.kind}/${owner.name}`]);
  rows.push(
    ['Replicas', `${n((rs.status as { replicas?: number } | undefined)?.replicas)} current / ${spec.replicas ?? 1} desired`],
    ['Pods Status', podsStatus(rel.pods)],
  );
  return fields(rows) + describePodTemplate(spec.template) + podsSection(rel.pods, rel.now);
}

/** kubectl's JobDescriber: the counts and limits, "Pods Statuses", completed indexes, the template; then conditions and Pods. */
export function describeJob(job: KObject, rel: WorkloadRelations): string {
  const spec = job.spec as {
    parallelism?: number; completions?: number; completionMode?: string; suspend?: boolean; backoffLimit?: number;
    ttlSecondsAfterFinished?: number; activeDeadlineSeconds?: number; selector?: unknown; template?: PodTemplateSpec;
  };
  const st = (job.status ?? {}) as {
    startTime?: string; completionTime?: string; active?: number; ready?: number; succeeded?: number; failed?: number;
    completedIndexes?: string; conditions?: Condition[];
  };
  const selector = spec.selector ?? { matchLabels: { 'batch.kubernetes.io/controller-uid': job.metadata.uid ?? '' } };
  const rows: Field[] = [...metaRows(job), ['Selector', selectorText(selector)]];
  const owner = controllerRef(job);
  if (owner) rows.push(['Controlled By', `${owner.kind}/${owner.name}`]);
  rows.push(
    ['Parallelism', String(spec.parallelism ?? 1)],
    ['Completions', spec.completions === undefined ? '<unset>' : String(spec.completions)],
    ['Completion Mode', spec.completionMode ?? 'NonIndexed'],
    ['Suspend', String(spec.suspend ?? false)],
    ['Backoff Limit', String(spec.backoffLimit ?? 6)],
  );
  if (spec.ttlSecondsAfterFinished !== undefined) rows.push(['TTL Seconds After Finished', String(spec.ttlSecondsAfterFinished)]);
  if (st.startTime) rows.push(['Start Time', st.startTime]);
  if (st.completionTime) rows.push(['Completed At', st.completionTime]);
  if (st.startTime) {
    const end = st.completionTime ? Date.parse(st.completionTime) : rel.now;
    rows.push(['Duration', humanDuration(end - Date.parse(st.startTime))]);
  }
  if (spec.activeDeadlineSeconds !== undefined) rows.push(['Active Deadline Seconds', `${spec.activeDeadlineSeconds}s`]);
  rows.push(['Pods Statuses', `${n(st.active)} Active (${n(st.ready)} Ready) / ${n(st.succeeded)} Succeeded / ${n(st.failed)} Failed`]);
  if (spec.completionMode === 'Indexed') rows.push(['Completed Indexes', st.completedIndexes || '<none>']);
  return fields(rows) + describePodTemplate(spec.template) + conditionsTable(st.conditions) + podsSection(rel.pods, rel.now);
}
