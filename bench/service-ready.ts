// Time from a Pod becoming Ready to its traffic arriving through the ClusterIP
// (issue 9's Benchmarks), on real containerd: a server and two boards on one
// LAN, a ClusterIP Service `web` over three busybox httpd Pods (one always
// ready, `web-a` on the client's board, `web-b` on the other), and a client Pod
// on board a. A probe process (bench/service-ready-probe.ts) in the client
// Pod's network namespace sends one GET at a time to the ClusterIP and logs
// who answered with Date.now() times. Each sample flips one of web-a/web-b
// not-ready and back (`bramble exec` removes, then touches, the file its exec
// readiness probe tests), so what is timed is the path from the Ready
// condition to the rules of the client's board: the agent's status report,
// the Endpoints controller, the network feed to the boards, iptables-restore.
// Container start and the probe period are not in it (they are in `pods`).
// Run alone with `npx tsx bench/service-ready.ts` (root, containerd, runc, CNI plugins).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { Endpoints, KObject, Pod, Service } from '../proto/model.js';
import type { ClusterClient } from '../proto/generated/bramble/v1/Cluster.js';
import type { WatchEvent__Output } from '../proto/generated/bramble/v1/WatchEvent.js';
import { podNetnsName } from '../agent/network-cni.js';
import { startCluster, TEST_IMAGE, type TestCluster } from '../test/support/cluster.js';
import { benchClusterClient, waitForBoardsReady } from './bench-cluster.js';
import { closeBenchCluster, figure, summarizeMs, waitFor, type Figure, type LatencySummary } from './util.js';

const SAMPLES = 12;
/** Gap between the probe's requests; each request itself takes a few ms more. */
const PROBE_GAP_MS = 5;
/**
 * A flipped-off Pod must have had no answer, and its removal from the Endpoints must
 * be, this long ago before it is flipped on again: more than the ServiceProxy's 1 s
 * minSyncPeriod, so the sync that adds it back never waits for the one that removed it.
 */
const QUIET_MS = 1_000;

// ------------------------------------------------------------------ pure helpers (unit-tested)

export interface ProbeAnswer {
  sentMs: number;
  doneMs: number;
  /** The answering Pod's name, or "ERR:<reason>". */
  answer: string;
}

/** One line of the probe: "<sentMs> <doneMs> <answer>"; undefined for anything else. */
export function parseProbeLine(line: string): ProbeAnswer | undefined {
  const m = /^(\d+) (\d+) (\S+)$/.exec(line.trim());
  if (!m) return undefined;
  return { sentMs: Number(m[1]), doneMs: Number(m[2]), answer: m[3]! };
}

/** The first request answered by `pod` that was sent at or after `afterMs`, and the request sent just before it (by then the rules did not pick the pod yet, or at least not on that try). */
export function firstAnswerFrom(answers: readonly ProbeAnswer[], pod: string, afterMs: number): { first: ProbeAnswer; previousSentMs: number } | undefined {
  for (let i = 0; i < answers.length; i++) {
    const a = answers[i]!;
    if (a.sentMs >= afterMs && a.answer === pod) return { first: a, previousSentMs: i > 0 ? answers[i - 1]!.sentMs : a.sentMs };
  }
  return undefined;
}

export interface ReadySample {
  pod: string;
  sameBoardAsClient: boolean;
  /** The Ready condition's lastTransitionTime: when the agent saw the probe pass (its clock, ms precision). */
  readyTransitionMs: number;
  /** When the bench's Pod watch delivered the Pod with Ready=True (the control plane reports it Ready). */
  readySeenMs: number;
  /** When the bench's Endpoints watch delivered `web` with the Pod's IP among the ready addresses. */
  endpointsSeenMs: number;
  /** When the probe sent the first request that the Pod answered. */
  firstAnswerSentMs: number;
  /** When the probe sent the request before it: the rules changed somewhere in between. */
  previousSentMs: number;
}

export interface ReadySplit {
  readyToAnswer: LatencySummary;
  readyToEndpoints: LatencySummary;
  endpointsToAnswer: LatencySummary;
  transitionToReadySeen: LatencySummary;
  transitionToAnswer: LatencySummary;
  /** How far before the first answer the rules may already have been in place: first answer's send − the previous send. */
  resolution: LatencySummary;
}

export function splitSamples(samples: readonly ReadySample[]): ReadySplit {
  const of = (f: (s: ReadySample) => number): LatencySummary => summarizeMs(samples.map(f));
  return {
    readyToAnswer: of((s) => s.firstAnswerSentMs - s.readySeenMs),
    readyToEndpoints: of((s) => s.endpointsSeenMs - s.readySeenMs),
    endpointsToAnswer: of((s) => s.firstAnswerSentMs - s.endpointsSeenMs),
    transitionToReadySeen: of((s) => s.readySeenMs - s.readyTransitionMs),
    transitionToAnswer: of((s) => s.firstAnswerSentMs - s.readyTransitionMs),
    resolution: of((s) => s.firstAnswerSentMs - s.previousSentMs),
  };
}

// ------------------------------------------------------------------ the cluster side

const WEB = [
  'mkdir -p /www',
  'hostname > /www/index.html',
  'touch /tmp/ready',
  'exec httpd -f -p 8080 -h /www',
].join(' && ');

function webPod(name: string, nodeName: string): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: {
      nodeName,
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: 'main', image: TEST_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', WEB],
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 },
      }],
    },
  } as Pod;
}

const isReady = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const readyTransition = (p: Pod): number => Date.parse(p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '');
const readyIps = (ep: Endpoints): string[] => (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));

interface Seen<T> {
  atMs: number;
  object: T;
}

/** A Watch of one kind from a revision, every event kept with the time this process received it. */
class Recorder<T extends KObject> {
  readonly events: Seen<T>[] = [];
  private error: Error | undefined;
  private readonly call: grpc.ClientReadableStream<WatchEvent__Output>;

  constructor(client: ClusterClient, private readonly kind: string, labelSelector: string, fromRevision: number) {
    this.call = client.Watch({ kind, namespace: 'default', labelSelector, fromRevision });
    this.call.on('data', (ev: WatchEvent__Output) => {
      if (ev.type !== 'DELETED') this.events.push({ atMs: Date.now(), object: JSON.parse(ev.object) as T });
    });
    this.call.on('error', (e: grpc.ServiceError) => {
      if (e.code !== grpc.status.CANCELLED) this.error = e;
    });
  }

  /** The first event received at or after `afterMs` that `match` accepts. */
  first(afterMs: number, match: (o: T) => boolean): Seen<T> | undefined {
    if (this.error) throw new Error(`the ${this.kind} watch failed: ${this.error.message}`);
    return this.events.find((e) => e.atMs >= afterMs && match(e.object));
  }

  stop(): void {
    this.call.cancel();
  }
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** The probe, inside a netns: dist/ when run from dist, else the .ts through tsx. */
function spawnProbe(netns: string, url: string): { proc: ChildProcess; answers: ProbeAnswer[]; stderr: () => string } {
  const isDist = here.split(path.sep).includes('dist');
  const script = isDist ? [path.join(here, 'service-ready-probe.js')] : ['--import', 'tsx', path.join(here, 'service-ready-probe.ts')];
  const proc = spawn('ip', ['netns', 'exec', netns, process.execPath, ...script, '--url', url, '--gap-ms', String(PROBE_GAP_MS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  // The probe keeps the client Pod's netns busy: it must not outlive the bench, however that ends.
  const killOnExit = (): void => {
    proc.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  proc.once('exit', () => process.off('exit', killOnExit));
  const answers: ProbeAnswer[] = [];
  let buf = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const a = parseProbeLine(buf.slice(0, i));
      if (a) answers.push(a);
      buf = buf.slice(i + 1);
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-2000);
  });
  return { proc, answers, stderr: () => err };
}

export interface ServiceReadyBenchReport {
  name: 'service-ready';
  method: string;
  samples: number;
  /** Ready as seen by the control plane (the Pod watch) to the first request the Pod answered through the ClusterIP. */
  readyToFirstAnswer: LatencySummary;
  split: ReadySplit;
  byBoard: { sameBoardAsClient: LatencySummary; otherBoard: LatencySummary };
  probe: { requests: number; errors: number; meanRequestInterval: Figure };
  perSample: { pod: string; transitionToReadySeen: number; readyToEndpoints: number; endpointsToAnswer: number; readyToAnswer: number }[];
}

export async function runServiceReadyBench(opts: { samples?: number; log?: (m: string) => void } = {}): Promise<ServiceReadyBenchReport> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[service-ready] ${m}\n`));
  const want = opts.samples ?? SAMPLES;
  let cluster: TestCluster | undefined;
  let client: ClusterClient | undefined;
  let probe: ReturnType<typeof spawnProbe> | undefined;
  const recorders: Recorder<KObject>[] = [];
  let failed = false;
  try {
    log('starting a server and 2 boards on one LAN');
    cluster = await startCluster({ boards: [{ name: 'sra' }, { name: 'srb' }], lan: true });
    const c = cluster;
    const [a, b] = c.boards as [typeof c.boards[0], typeof c.boards[0]];
    const cl: ClusterClient = (client = await benchClusterClient(c));
    const diag = (): string => c.diagnostics();
    await waitForBoardsReady(c);
    const flipped = [{ name: 'web-a', sameBoard: true }, { name: 'web-b', sameBoard: false }];
    await c.apply([
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] } },
      webPod('web-base', b.nodeName), webPod('web-a', a.nodeName), webPod('web-b', b.nodeName),
      {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client', namespace: 'default', labels: { app: 'client' } },
        spec: { nodeName: a.nodeName, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: TEST_IMAGE, imagePullPolicy: 'Never', command: ['sleep', '3600'] }] },
      },
    ]);
    const ips = await waitFor('3 ready web endpoints and a running client', 90_000, async () => {
      const ep = await c.get<Endpoints>('endpoints', 'web');
      const pods = await Promise.all(['web-base', 'web-a', 'web-b', 'client'].map((n) => c.get<Pod>('pod', n)));
      if (!ep || readyIps(ep).length !== 3 || pods.some((p) => !p?.status?.podIP || !isReady(p))) return undefined;
      return new Map(pods.map((p) => [p!.metadata.name, { ip: p!.status!.podIP!, uid: p!.metadata.uid! }]));
    }, 500).catch((e: Error) => {
      throw new Error(`${e.message}\n${diag()}`);
    });
    const clusterIP = (await c.get<Service>('service', 'web'))!.spec.clusterIP!;
    const netns = podNetnsName(ips.get('client')!.uid);
    if (!existsSync(`/var/run/netns/${netns}`)) throw new Error(`the client Pod's netns /var/run/netns/${netns} must exist`);

    // Watches from the current revision: every later event, with its receive time.
    const revision = await new Promise<number>((resolve, reject) =>
      cl.List({ kind: 'Pod', namespace: 'default', labelSelector: '' }, (err, res) => (err || !res ? reject(err ?? new Error('List returned nothing')) : resolve(Number(res.revision)))));
    const pods = new Recorder<Pod>(cl, 'Pod', 'app=web', revision);
    const endpoints = new Recorder<Endpoints>(cl, 'Endpoints', '', revision);
    recorders.push(pods as unknown as Recorder<KObject>, endpoints as unknown as Recorder<KObject>);

    log(`probe in the client Pod (netns ${netns}) → http://${clusterIP}/`);
    const p = (probe = spawnProbe(netns, `http://${clusterIP}/`));
    await waitFor('the probe to get answers from all 3 web Pods', 30_000, async () => {
      if (p.proc.exitCode !== null) throw new Error(`the probe exited: ${p.stderr()}`);
      const names = new Set(p.answers.map((x) => x.answer));
      return ['web-base', 'web-a', 'web-b'].every((n) => names.has(n)) ? true : undefined;
    }, 100);

    const exec = async (pod: string, args: string[]): Promise<void> => {
      const r = await c.bramble(['exec', pod, '--', ...args]);
      if (r.code !== 0) throw new Error(`bramble exec ${pod} -- ${args.join(' ')} failed: ${r.stderr}`);
    };
    const samples: ReadySample[] = [];
    for (let i = 0; i < want; i++) {
      const target = flipped[i % flipped.length]!;
      const ip = ips.get(target.name)!.ip;
      // Off: not Ready in the Pod, not among the ready addresses, and no answer from it for QUIET_MS.
      const offAt = Date.now();
      await exec(target.name, ['rm', '/tmp/ready']);
      await waitFor(`${target.name} to stop getting traffic`, 30_000, async () => {
        const notReady = pods.first(offAt, (o) => o.metadata.name === target.name && !isReady(o));
        const gone = endpoints.first(offAt, (o) => o.metadata.name === 'web' && !readyIps(o).includes(ip));
        const last = [...p.answers].reverse().find((x) => x.answer === target.name);
        return notReady && gone && (!last || Date.now() - last.sentMs >= QUIET_MS) && Date.now() - gone.atMs >= QUIET_MS ? true : undefined;
      }, 50);
      // On: from here on, the first Ready=True, the first Endpoints with its IP, the first answer.
      const onAt = Date.now();
      await exec(target.name, ['touch', '/tmp/ready']);
      const sample = await waitFor(`${target.name} to answer through ${clusterIP} again`, 30_000, async () => {
        const ready = pods.first(onAt, (o) => o.metadata.name === target.name && isReady(o));
        const ep = endpoints.first(onAt, (o) => o.metadata.name === 'web' && readyIps(o).includes(ip));
        const ans = firstAnswerFrom(p.answers, target.name, onAt);
        if (!ready || !ep || !ans) return undefined;
        return {
          pod: target.name, sameBoardAsClient: target.sameBoard,
          readyTransitionMs: readyTransition(ready.object), readySeenMs: ready.atMs, endpointsSeenMs: ep.atMs,
          firstAnswerSentMs: ans.first.sentMs, previousSentMs: ans.previousSentMs,
        } satisfies ReadySample;
      }, 50);
      samples.push(sample);
      log(`sample ${i + 1}/${want} ${target.name}: ready→endpoints ${sample.endpointsSeenMs - sample.readySeenMs} ms, endpoints→answer ${sample.firstAnswerSentMs - sample.endpointsSeenMs} ms`);
    }

    const answers = p.answers;
    const span = answers.length > 1 ? answers.at(-1)!.sentMs - answers[0]!.sentMs : 0;
    const split = splitSamples(samples);
    const rta = (s: ReadySample): number => s.firstAnswerSentMs - s.readySeenMs;
    return {
      name: 'service-ready',
      method: 'readiness flipped with bramble exec (rm, then touch the file of an exec readiness probe, periodSeconds 1) in an already running Pod; '
        + 'Ready and Endpoints as received by a Watch in the bench; answers from a probe process in the client Pod\'s netns on board a, one GET at a time to the ClusterIP, a new connection each; '
        + 'all times this machine\'s CLOCK_REALTIME (Ready\'s lastTransitionTime is the agent\'s)',
      samples: samples.length,
      readyToFirstAnswer: split.readyToAnswer,
      split,
      byBoard: {
        sameBoardAsClient: summarizeMs(samples.filter((s) => s.sameBoardAsClient).map(rta)),
        otherBoard: summarizeMs(samples.filter((s) => !s.sameBoardAsClient).map(rta)),
      },
      probe: {
        requests: answers.length,
        errors: answers.filter((x) => x.answer.startsWith('ERR:')).length,
        meanRequestInterval: figure(answers.length > 1 ? span / (answers.length - 1) : 0, 'ms', 2),
      },
      perSample: samples.map((s) => ({
        pod: s.pod,
        transitionToReadySeen: s.readySeenMs - s.readyTransitionMs,
        readyToEndpoints: s.endpointsSeenMs - s.readySeenMs,
        endpointsToAnswer: s.firstAnswerSentMs - s.endpointsSeenMs,
        readyToAnswer: rta(s),
      })),
    };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    if (probe && probe.proc.exitCode === null && probe.proc.signalCode === null) {
      const exited = new Promise((r) => probe!.proc.once('exit', r));
      probe.proc.kill('SIGKILL');
      await exited;
    }
    for (const r of recorders) r.stop();
    client?.close();
    await closeBenchCluster(cluster, failed, log);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  runServiceReadyBench().then(
    (report) => console.log(JSON.stringify(report, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
