import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import type { NodeFigures__Output } from '../../proto/generated/bramble/v1/NodeFigures.js';
import type { PodFigures__Output } from '../../proto/generated/bramble/v1/PodFigures.js';
import { resolveKind, type KObject } from '../../proto/model.js';
import { printObjects } from './cli-print.js';
import { formatMebibytes, formatMillicores, printTopNodes, printTopPods } from './cli-top.js';

const MI = 1024 * 1024;
const GI = 1024 * MI;
const NOW = Date.parse('2026-01-10T12:00:00Z');

function figures(name: string, extra: Partial<NodeFigures__Output> = {}): NodeFigures__Output {
  return {
    name, cpuPercent: 12.4, memoryUsedBytes: 1536 * MI, memoryTotalBytes: 4 * GI,
    temperatureCelsius: 48.25, hasTemperature: true, load1: 0.5, ...extra,
  };
}

function podFigures(namespace: string, name: string, cpu: number, memory: number): PodFigures__Output {
  return { namespace, name, node: 'pi-1', cpuMillicores: cpu, memoryBytes: memory };
}

describe('top cells', () => {
  test('CPU is shown in whole millicores', () => {
    assert.equal(formatMillicores(12.4), '12m');
    assert.equal(formatMillicores(0), '0m');
    assert.equal(formatMillicores(1500.6), '1501m');
  });

  test('memory is shown in whole mebibytes', () => {
    assert.equal(formatMebibytes(34 * MI + 100), '34Mi');
    assert.equal(formatMebibytes(0), '0Mi');
  });
});

describe('printTopNodes', () => {
  test('lays out NAME CPU% MEMORY MEM% TEMP LOAD sorted by name', () => {
    const out = printTopNodes([figures('pi-2', { hasTemperature: false, temperatureCelsius: 0 }), figures('pi-1')], 'table');
    assert.equal(
      out.stdout,
      [
        'NAME   CPU%   MEMORY   MEM%   TEMP     LOAD',
        'pi-1   12%    1536Mi   38%    48.3°C   0.50',
        'pi-2   12%    1536Mi   38%    <none>   0.50',
        '',
      ].join('\n'),
    );
  });

  test('shows an unknown memory share when the total is not known', () => {
    assert.match(printTopNodes([figures('pi-1', { memoryTotalBytes: 0 })], 'table').stdout, /pi-1\s+12%\s+1536Mi\s+<unknown>/);
  });

  test('says on stderr that no agent has reported when there are no figures', () => {
    const out = printTopNodes([], 'table');
    assert.equal(out.stdout, '');
    assert.match(out.stderr, /no agent has reported/);
  });

  test('prints the raw figures as JSON and YAML, an empty list when there are none', () => {
    const json = JSON.parse(printTopNodes([figures('pi-1')], 'json').stdout) as NodeFigures__Output[];
    assert.deepEqual(json, [figures('pi-1')]);
    assert.deepEqual(parseYaml(printTopNodes([figures('pi-1')], 'yaml').stdout), json);
    assert.equal(printTopNodes([], 'json').stdout, '[]\n');
  });
});

describe('printTopPods', () => {
  const pods = [podFigures('web', 'b', 250, 64 * MI), podFigures('default', 'a', 12, 34 * MI)];

  test('lays out NAME NODE CPU MEMORY for one namespace', () => {
    const out = printTopPods({ pods: [pods[1]!], output: 'table', allNamespaces: false, namespace: 'default' });
    assert.equal(out.stdout, 'NAME   NODE   CPU   MEMORY\na      pi-1   12m   34Mi\n');
  });

  test('adds a NAMESPACE column with -A and sorts by namespace then name', () => {
    const out = printTopPods({ pods, output: 'table', allNamespaces: true, namespace: 'default' });
    assert.equal(
      out.stdout,
      ['NAMESPACE   NAME   NODE   CPU    MEMORY', 'default     a      pi-1   12m    34Mi', 'web         b      pi-1   250m   64Mi', ''].join('\n'),
    );
  });

  test('names the namespace when it has no figures', () => {
    const out = printTopPods({ pods: [], output: 'table', allNamespaces: false, namespace: 'web' });
    assert.equal(out.stdout, '');
    assert.match(out.stderr, /in web namespace/);
  });
});

describe('get nodes with the figures of the Top call', () => {
  const kind = resolveKind('nodes')!;
  function node(name: string, ready: string | undefined, extra: { unschedulable?: boolean; labels?: Record<string, string> } = {}): KObject {
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, creationTimestamp: new Date(NOW - 60_000).toISOString(), labels: extra.labels ?? {} },
      spec: extra.unschedulable ? { unschedulable: true } : {},
      status: {
        conditions: ready === undefined ? [] : [{ type: 'Ready', status: ready }],
        nodeInfo: { kubeletVersion: '0.1.0', architecture: 'arm64' },
      },
    };
  }

  test('shows status from the Ready condition, the control-plane role and the live figures', () => {
    const out = printObjects({
      kind,
      objects: [
        node('cp', 'True', { labels: { 'node-role.kubernetes.io/control-plane': 'true' } }),
        node('pi-1', 'Unknown', { unschedulable: true }),
        node('pi-2', 'False'),
      ],
      output: 'table', allNamespaces: false, namespace: '', single: false, now: NOW,
      nodeFigures: new Map([['cp', figures('cp')]]),
    });
    const lines = out.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+ARCH\s+CPU%\s+MEM%\s+TEMP$/);
    assert.match(lines[1]!, /^cp\s+Ready\s+control-plane\s+60s\s+0\.1\.0\s+arm64\s+12%\s+38%\s+48\.3°C$/);
    assert.match(lines[2]!, /^pi-1\s+NotReady,SchedulingDisabled\s+<none>\s+60s\s+0\.1\.0\s+arm64\s+<unknown>\s+<unknown>\s+<unknown>$/);
    assert.match(lines[3]!, /^pi-2\s+NotReady\s+<none>/);
  });
});
