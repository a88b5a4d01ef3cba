// A replicated control plane under a real failover: three `bramble server`
// processes on the host (one Raft cluster, no embedded agents) and three boards
// whose agents know every member. With a Deployment running and a CronJob
// firing every minute, the leader's process is killed with SIGKILL a few
// seconds before a minute boundary. A new leader takes over; the CLI (its
// config lists every member, the dead one first) answers a get asked during
// the election and an apply after it; every board stays Ready; the Deployment's Pods are the same Pods with
// the same containers (same uids, start times, restart counts); and each
// scheduled minute around the failover has exactly one Job and one run on a
// board (a Job's name is its scheduled minute: a gap is a skipped run, a second
// uid under one name or a second file is a doubled one). The killed member
// then comes back and catches up.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KObject, NodeObject, Pod } from '../proto/model.js';
import { readClientConfig, writeClientConfig } from '../control-plane/pki/client-config.js';
import { startCluster, TEST_IMAGE, waitFor, type TestCluster } from './support/cluster.js';
import { waitForBoardReady } from './support/e2e-objects.js';
import { explain, freePort, runBramble, startServerProcess, type CliResult, type ServerProcess } from './support/server-process.js';

const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ctr') && existsSync('/usr/lib/cni/bridge');
const MIN = 60_000;
const REPLICAS = 3;
/** How long before a minute boundary the leader dies: the new leader must make that minute's Job. */
const KILL_BEFORE_BOUNDARY_MS = 8_000;

interface Member { name: string; port: number; server: ServerProcess }
interface MemberRow { name: string; role: string; appliedIndex: number; address: string; error?: string }
interface ContainerSnapshot { uid: string; node: string; restartCount: number; startedAt: string | undefined; containerID: string | undefined }

/** The host's own address that every board reaches (through its default route) and the host too. */
function hostAddress(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    // Not a board's veth: those come and go with other tests.
    const a = addrs?.find((x) => x.family === 'IPv4' && !x.internal && !x.address.startsWith('10.200.'));
    if (a) return a.address;
  }
  throw new Error('the host needs a non-loopback IPv4 address for the members to advertise');
}

function deployment(): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'app', image: TEST_IMAGE, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
        },
      },
    },
  };
}

function cronJob(outDir: string): KObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'tick', namespace: 'default' },
    spec: {
      schedule: '*/1 * * * *',
      concurrencyPolicy: 'Forbid',
      // Every Job of the test stays, so the count covers every scheduled minute.
      successfulJobsHistoryLimit: 20,
      failedJobsHistoryLimit: 20,
      jobTemplate: {
        metadata: { labels: { app: 'tick' } },
        spec: {
          template: {
            metadata: { labels: { app: 'tick' } },
            spec: {
              restartPolicy: 'Never',
              terminationGracePeriodSeconds: 1,
              containers: [{
                name: 'main', image: TEST_IMAGE, imagePullPolicy: 'Never',
                // The boards share the host's filesystem: one file per run, whichever board ran it.
                command: ['sh', '-c', 'mktemp /out/run.XXXXXX'],
                volumeMounts: [{ name: 'out', mountPath: '/out' }],
              }],
              volumes: [{ name: 'out', hostPath: { path: outDir, type: 'Directory' } }],
            },
          },
        },
      },
    },
  };
}

describe('a replicated control plane losing its leader under load', { skip: !canRun && 'needs root, containerd and CNI plugins (scripts/install-test-deps.sh)' }, () => {
  let cluster: TestCluster;
  let outDir: string;
  let workDir: string;
  let cliConfig: string;
  const members: Member[] = [];
  const advertise = hostAddress();

  const member = (name: string): Member => {
    const m = members.find((x) => x.name === name);
    if (!m) throw new Error(`no member named ${name}`);
    return m;
  };
  const cli = (args: string[], input?: string): Promise<CliResult> =>
    runBramble(['--config', cliConfig, ...args], { input, timeoutMs: 30_000 });
  /** Through one member only, so a dead or lagging member cannot hide behind another. */
  const via = (name: string, args: string[]): Promise<CliResult> =>
    runBramble(['--config', cliConfig, '--server', `127.0.0.1:${member(name).port}`, ...args], { timeoutMs: 15_000 });
  const status = async (name: string): Promise<{ leader: string; members: MemberRow[] }> => {
    const r = await via(name, ['cluster', 'status', '-o', 'json']);
    assert.equal(r.code, 0, explain(r));
    return JSON.parse(r.stdout) as { leader: string; members: MemberRow[] };
  };
  const list = async <T extends KObject>(kind: string, selector?: string): Promise<T[]> => {
    const r = await cli(['get', kind, ...(selector ? ['-l', selector] : []), '-o', 'json']);
    assert.equal(r.code, 0, `bramble get ${kind}: ${explain(r)}`);
    return (JSON.parse(r.stdout) as { items?: T[] }).items ?? [];
  };
  const diagnostics = (): string => [
    cluster?.diagnostics() ?? '',
    ...members.slice(1).map((m) => `--- server ${m.name} log (tail) ---\n${m.server.output().slice(-4000)}`),
  ].join('\n');

  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'bramble-rcp-out-'));
    workDir = await mkdtemp(join(tmpdir(), 'bramble-rcp-'));
    // The joiners' ports are known up front: the agents are told every member when they start.
    const ports = [await freePort(), await freePort(), await freePort()];
    while (new Set(ports).size < 3) ports[2] = await freePort();
    cluster = await startCluster({
      // The later --grpc-addr wins over startCluster's own: cp1 listens on a port known before it starts.
      serverArgs: ['--grpc-addr', `0.0.0.0:${ports[0]}`, '--cluster-init', '--node-name', 'cp1', '--advertise-address', `${advertise}:${ports[0]}`],
      boards: ['a', 'b', 'c'].map((name) => ({
        name,
        // Each board reaches the host at its own veth address: every member there, cp1 first.
        serverArg: (first: string) => ports.map((p) => `${first.split(':')[0]}:${p}`).join(','),
      })),
    });
    members.push({ name: 'cp1', port: ports[0]!, server: cluster.server });
    for (const [i, name] of ['cp2', 'cp3'].entries()) {
      const port = ports[i + 1]!;
      const server = await startServerProcess({
        extraArgs: [
          '--grpc-addr', `0.0.0.0:${port}`, '--advertise-address', `${advertise}:${port}`,
          '--join', `127.0.0.1:${ports[0]}`, '--token-file', join(cluster.server.dataDir, 'token'), '--node-name', name,
        ],
        env: { ...process.env, BRAMBLE_LOG_LEVEL: 'info' },
      });
      members.push({ name, port, server });
    }
    const cfg = await readClientConfig(cluster.server.configPath);
    cliConfig = join(workDir, 'cli.conf');
    await writeClientConfig(cliConfig, { ...cfg, server: `127.0.0.1:${ports[0]}`, servers: members.map((m) => `127.0.0.1:${m.port}`) });
    await waitFor('three voting members', async () => {
      const s = await status('cp1');
      return s.members.length === 3 && s.members.every((m) => m.role === 'leader' || m.role === 'follower') ? s : undefined;
    }, { timeoutMs: 60_000, describe: diagnostics });
    for (const b of cluster.boards) await waitForBoardReady(cluster, b.nodeName);
    // Told at start only cp1 could answer; the heartbeats' answers bring every member's advertised address.
    const advertised = members.map((m) => `${advertise}:${m.port}`).sort();
    for (const b of cluster.boards) {
      await waitFor(`agent ${b.nodeName} to know every member`, async () => {
        const saved = JSON.parse(await readFile(join(b.dataDir, 'servers.json'), 'utf8')) as { servers?: string[] };
        return advertised.every((a) => saved.servers?.includes(a)) ? true : undefined;
      }, { timeoutMs: 30_000, describe: diagnostics });
    }
  });

  after(async () => {
    // The cluster first, while cp2 and cp3 still give cp1 a quorum to list the Pods it must clean up after.
    await cluster?.close().catch((e: unknown) => process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`));
    for (const m of members.slice(1)) await m.server.close();
    if (outDir) await rm(outDir, { recursive: true, force: true });
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  test('with the leader killed, agents and the CLI keep working, Pods are not restarted, and no CronJob run is skipped or doubled', { timeout: 280_000 }, async (t) => {
    const r = await cli(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [deployment(), cronJob(outDir)] }));
    assert.equal(r.code, 0, explain(r));

    // Every Job uid ever seen per name: a Job deleted and made again for its minute shows as two.
    const jobUids = new Map<string, Set<string>>();
    const observeJobs = async (): Promise<KObject[]> => {
      const jobs = await list<KObject>('jobs', 'app=tick');
      for (const j of jobs) {
        const uids = jobUids.get(j.metadata.name) ?? new Set<string>();
        uids.add(j.metadata.uid ?? '');
        jobUids.set(j.metadata.name, uids);
      }
      return jobs;
    };
    const minuteOf = (name: string): number => Number(name.slice('tick-'.length)) * MIN;
    const nameFor = (minute: number): string => `tick-${Math.floor(minute / MIN)}`;

    const snapshot = async (): Promise<ContainerSnapshot[]> => {
      const pods = await list<Pod>('pods', 'app=web');
      return pods.map((p) => {
        const c = p.status?.containerStatuses?.find((s) => s.name === 'app');
        return { uid: p.metadata.uid ?? '', node: p.spec.nodeName ?? '', restartCount: c?.restartCount ?? -1, startedAt: c?.state.running?.startedAt, containerID: c?.containerID };
      }).sort((a, b) => a.uid.localeCompare(b.uid));
    };
    const before = await waitFor(`${REPLICAS} Pods of the Deployment running`, async () => {
      const snap = await snapshot();
      return snap.length === REPLICAS && snap.every((s) => s.startedAt !== undefined) ? snap : undefined;
    }, { timeoutMs: 90_000, intervalMs: 1_000, describe: diagnostics });
    await waitFor('the Deployment available', async () => {
      const d = (await list<KObject & { status?: { availableReplicas?: number } }>('deployments')).find((x) => x.metadata.name === 'web');
      return d?.status?.availableReplicas === REPLICAS ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1_000, describe: diagnostics });

    const firstJob = await waitFor('a first CronJob run', async () => {
      const names = (await observeJobs()).map((j) => j.metadata.name).sort();
      return names[0];
    }, { timeoutMs: 2 * MIN + 10_000, intervalMs: 2_000, describe: diagnostics });
    const firstMinute = minuteOf(firstJob);

    // Killed shortly before a boundary, so the new leader must make that minute's Job.
    let killAt = firstMinute + MIN - KILL_BEFORE_BOUNDARY_MS;
    while (killAt < Date.now() + 2_000) killAt += MIN;
    while (Date.now() < killAt) {
      await observeJobs();
      await sleep(Math.min(3_000, Math.max(0, killAt - Date.now())));
    }
    const oldLeader = (await status('cp1')).leader;
    assert.ok(oldLeader, 'a leader before the kill');
    const others = members.filter((m) => m.name !== oldLeader);
    // The dead member first in the CLI's list: every call has to fail over.
    const cfg = await readClientConfig(cliConfig);
    await writeClientConfig(cliConfig, { ...cfg, server: `127.0.0.1:${member(oldLeader).port}`, servers: [member(oldLeader), ...others].map((m) => `127.0.0.1:${m.port}`) });
    const killed = await member(oldLeader).server.kill();
    assert.equal(killed.signal, 'SIGKILL');
    const killedAt = Date.now();
    // Asked at once, while the survivors still elect: the read waits for the new leader.
    const got = await cli(['get', 'deployment', 'web', '-o', 'json']);
    assert.equal(got.code, 0, `the CLI reads through a surviving member during the election: ${explain(got)}`);

    const newLeader = await waitFor('a new leader', async () => {
      const s = await status(others[0]!.name);
      return s.leader && s.leader !== oldLeader ? s.leader : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500, describe: diagnostics });
    const electedAfterMs = Date.now() - killedAt;

    // After the election: until then a follower that still believes in the dead leader forwards a write there, and it fails.
    const applied = await cli(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-kill', namespace: 'default' }, data: { leader: newLeader } }));
    assert.equal(applied.code, 0, `the CLI writes through a surviving member: ${explain(applied)}`);

    // The first scheduled minute after the kill, the one the new leader must make, with its Job and its
    // run; the boards sampled all along. (A later minute would show nothing this one does not: the
    // CronJob controller computes each schedule from the store alike, and it costs a minute of suite.)
    const lastMinute = Math.ceil(killedAt / MIN) * MIN;
    const notReady: string[] = [];
    const sampleNodes = async (): Promise<void> => {
      for (const n of await list<NodeObject>('nodes')) {
        const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status;
        if (ready !== 'True') notReady.push(`${n.metadata.name}=${ready ?? 'unknown'} at ${new Date().toISOString()}`);
      }
    };
    await waitFor(`the Jobs up to ${new Date(lastMinute).toISOString()} complete`, async () => {
      await sampleNodes();
      const jobs = await observeJobs();
      const last = jobs.find((j) => j.metadata.name === nameFor(lastMinute)) as (KObject & { status?: { succeeded?: number } }) | undefined;
      return last?.status?.succeeded === 1 ? true : undefined;
    }, { timeoutMs: lastMinute - Date.now() + 45_000, intervalMs: 3_000, describe: diagnostics });

    const expected: string[] = [];
    for (let m = firstMinute; m <= lastMinute; m += MIN) expected.push(nameFor(m));
    const seen = [...jobUids.keys()].filter((n) => minuteOf(n) <= lastMinute).sort();
    assert.deepEqual(seen, expected, `one Job per scheduled minute from ${firstJob}, none skipped (kill at ${new Date(killedAt).toISOString()})`);
    for (const [name, uids] of jobUids) assert.equal(uids.size, 1, `Job ${name} was made once: uids ${[...uids].join(', ')}`);
    // One run per Job on the boards: the Job controller did not double a Pod across the failover either.
    await waitFor(`${expected.length} files written by the runs`, async () => {
      const files = (await readdir(outDir)).filter((f) => f.startsWith('run.'));
      return files.length >= expected.length ? files : undefined;
    }, { timeoutMs: 30_000 });
    const files = (await readdir(outDir)).filter((f) => f.startsWith('run.'));
    const laterJobs = [...jobUids.keys()].filter((n) => minuteOf(n) > lastMinute).length;
    assert.ok(files.length >= expected.length && files.length <= expected.length + laterJobs,
      `one run per Job: ${files.length} files for Jobs ${[...jobUids.keys()].sort().join(', ')}`);

    assert.deepEqual(notReady, [], `every board stays Ready across the failover:\n${diagnostics()}`);
    for (const b of cluster.boards) assert.ok(b.agentPid, `agent ${b.nodeName} still runs:\n${b.agentOutput().slice(-3000)}`);
    const afterKill = await snapshot();
    assert.deepEqual(afterKill, before, 'the Deployment keeps the same Pods, containers and restart counts');

    // The killed member comes back, catches up, and the three agree again.
    await member(oldLeader).server.restart();
    const caughtUp = await waitFor(`${oldLeader} caught up`, async () => {
      const s = await status(oldLeader);
      const applied = s.members.map((m) => m.appliedIndex);
      return s.members.length === 3 && s.leader && s.members.every((m) => !m.error) && Math.min(...applied) === Math.max(...applied) ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1_000, describe: diagnostics });
    const cm = await via(oldLeader, ['get', 'configmap', 'after-kill', '--consistency', 'serializable', '-o', 'json']);
    assert.equal(cm.code, 0, `${oldLeader} holds the write made while it was down: ${explain(cm)}`);
    t.diagnostic(`leader ${oldLeader} killed at ${new Date(killedAt).toISOString()}; ${newLeader} led after ${electedAfterMs} ms; jobs ${expected.join(', ')}; leader now ${caughtUp.leader}`);
  });
});
