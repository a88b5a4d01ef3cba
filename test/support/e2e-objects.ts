// Object builders and status readers shared by the end-to-end test files.
import type { Container, ContainerStatus, NodeObject, Pod, PodSpec } from '../../proto/model.js';
import type { TestCluster } from './cluster.js';
import { TEST_IMAGE, waitFor } from './cluster.js';

/** A Pod of one busybox container; the image only exists on boards through the air-gap import. */
export function busyboxPod(name: string, container: Partial<Container>, spec: Partial<PodSpec> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { test: name } },
    spec: {
      terminationGracePeriodSeconds: 2,
      ...spec,
      containers: [{ name: 'main', image: TEST_IMAGE, imagePullPolicy: 'Never', ...container }],
    },
  };
}

export function mainStatus(pod: Pod | undefined): ContainerStatus | undefined {
  return pod?.status?.containerStatuses?.find((c) => c.name === 'main');
}

export function describePod(pod: Pod | undefined): string {
  return pod ? `pod ${pod.metadata.name} spec.nodeName=${pod.spec.nodeName ?? ''} status=${JSON.stringify(pod.status)}` : 'pod absent';
}

/** Waits until the Pod satisfies `cond`, then returns it; the timeout error shows the last Pod and the logs. */
export async function waitForPod(cluster: TestCluster, name: string, what: string, cond: (p: Pod) => boolean, timeoutMs = 60_000): Promise<Pod> {
  let last: Pod | undefined;
  return waitFor(`pod ${name} ${what}`, async () => {
    last = await cluster.get<Pod>('pod', name);
    return last && cond(last) ? last : undefined;
  }, { timeoutMs, intervalMs: 1000, describe: () => `${describePod(last)}\n${cluster.diagnostics()}` });
}

export function isRunning(p: Pod): boolean {
  return p.status?.phase === 'Running' && mainStatus(p)?.state.running !== undefined;
}

/** Whether an IPv4 address lies in a CIDR such as 10.42.3.0/24. */
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const toInt = (a: string): number => a.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (toInt(ip) & mask) === (toInt(base ?? '') & mask);
}

/** Waits until the board's Node reports Ready=True, naming the cluster's logs when it does not. */
export function waitForBoardReady(cluster: TestCluster, nodeName: string): Promise<NodeObject> {
  return waitFor('the board to be Ready', async () => {
    const node = await cluster.get<NodeObject>('node', nodeName);
    return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? node : undefined;
  }, { timeoutMs: 60_000, describe: () => cluster.diagnostics() });
}
