import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IMAGE_ARCHES_ANNOTATION } from '../../proto/model.js';
import {
  filterArchitecture, filterNodeSelector, filterNodeState, filterResources, filterTaints,
  nodeUsage, podRequests, toleratesTaint,
} from './scheduler-filters.js';
import { makeNode, makePod } from '../testing/scheduler-fixtures.js';

const Mi = 1024 ** 2;

describe('scheduler filters', () => {
  test('a node that is not Ready or is cordoned is refused', () => {
    assert.equal(filterNodeState(makeNode('a')), undefined);
    assert.equal(filterNodeState(makeNode('a', { ready: false })), 'node(s) were not ready');
    assert.equal(filterNodeState(makeNode('a', { unschedulable: true })), 'node(s) were unschedulable');
    const noConditions = makeNode('a');
    delete noConditions.status!.conditions;
    assert.equal(filterNodeState(noConditions), 'node(s) were not ready');
  });

  test('a nodeSelector must match every label of the node', () => {
    const node = makeNode('a', { labels: { disk: 'ssd', zone: 'shelf-1' } });
    assert.equal(filterNodeSelector(makePod('p', { nodeSelector: { disk: 'ssd' } }), node), undefined);
    assert.equal(filterNodeSelector(makePod('p', { nodeSelector: { disk: 'ssd', zone: 'shelf-2' } }), node),
      "node(s) didn't match Pod's node affinity/selector");
    assert.equal(filterNodeSelector(makePod('p'), node), undefined);
  });

  test('pod requests sum the containers and fall back to limits when requests are absent', () => {
    assert.deepEqual(podRequests(makePod('p', { cpu: '250m', memory: '64Mi' })), { cpu: 250, memory: 64 * Mi });
    assert.deepEqual(podRequests(makePod('p', { cpu: '1', memory: '1Gi', limitsOnly: true })), { cpu: 1000, memory: 1024 * Mi });
    const two = makePod('p', { cpu: '100m' });
    two.spec.containers.push({ name: 'side', image: 'x', resources: { requests: { cpu: '50m' }, limits: { memory: '32Mi' } } });
    assert.deepEqual(podRequests(two), { cpu: 150, memory: 32 * Mi });
    const withInit = makePod('p', { cpu: '100m' });
    withInit.spec.initContainers = [{ name: 'init', image: 'x', resources: { requests: { cpu: '500m' } } }];
    assert.equal(podRequests(withInit).cpu, 500);
  });

  test('resources must fit in allocatable minus what live pods on the node request', () => {
    const node = makeNode('a', { cpu: '1', memory: '512Mi', pods: '3' });
    const onNode = [
      makePod('x', { cpu: '600m', memory: '256Mi', nodeName: 'a' }),
      makePod('done', { cpu: '900m', memory: '256Mi', nodeName: 'a', phase: 'Succeeded' }),
    ];
    const usage = nodeUsage(node, onNode);
    assert.deepEqual([usage.requestedCpu, usage.requestedMemory, usage.podCount], [600, 256 * Mi, 1]);
    assert.deepEqual(filterResources(podRequests(makePod('p', { cpu: '400m', memory: '256Mi' })), usage), []);
    assert.deepEqual(filterResources(podRequests(makePod('p', { cpu: '500m', memory: '300Mi' })), usage),
      ['Insufficient cpu', 'Insufficient memory']);
    const full = nodeUsage(makeNode('a', { pods: '1' }), [makePod('x', { nodeName: 'a' })]);
    assert.deepEqual(filterResources(podRequests(makePod('p')), full), ['Too many pods']);
  });

  test('a NoSchedule or NoExecute taint must be tolerated; PreferNoSchedule never refuses', () => {
    const gpu = makeNode('a', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
    assert.equal(filterTaints(makePod('p'), gpu), 'node(s) had untolerated taint {dedicated: gpu}');
    assert.equal(filterTaints(makePod('p', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }), gpu), undefined);
    assert.equal(filterTaints(makePod('p', { tolerations: [{ key: 'dedicated', value: 'cpu' }] }), gpu),
      'node(s) had untolerated taint {dedicated: gpu}');
    assert.equal(filterTaints(makePod('p', { tolerations: [{ key: 'dedicated', operator: 'Exists' }] }), gpu), undefined);
    assert.equal(filterTaints(makePod('p', { tolerations: [{ operator: 'Exists' }] }), gpu), undefined);
    const noExec = makeNode('a', { taints: [{ key: 'broken', effect: 'NoExecute' }] });
    assert.equal(filterTaints(makePod('p'), noExec), 'node(s) had untolerated taint {broken: }');
    assert.equal(filterTaints(makePod('p', { tolerations: [{ key: 'broken', operator: 'Exists', effect: 'NoSchedule' }] }), noExec),
      'node(s) had untolerated taint {broken: }');
    const prefer = makeNode('a', { taints: [{ key: 'slow', effect: 'PreferNoSchedule' }] });
    assert.equal(filterTaints(makePod('p'), prefer), undefined);
    assert.equal(toleratesTaint({ key: 'k', operator: 'Exists' }, { key: 'other', effect: 'NoSchedule' }), false);
  });

  test('a Pod whose image architectures are declared is kept off boards of other architectures', () => {
    const pod = makePod('p', { annotations: { [IMAGE_ARCHES_ANNOTATION]: 'arm64, amd64' } });
    assert.equal(filterArchitecture(pod, makeNode('a', { arch: 'arm64' })), undefined);
    assert.equal(filterArchitecture(pod, makeNode('a', { arch: 'arm' })),
      "node(s) didn't match the image's architectures (arm64, amd64)");
    assert.equal(filterArchitecture(makePod('p'), makeNode('a', { arch: 'arm' })), undefined);
  });
});
