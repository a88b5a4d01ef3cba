// Events end to end on one real `bramble server` with no nodes (--disable-agent):
// a Pod that cannot be scheduled gets a FailedScheduling Event from the scheduler,
// which `get events` lists and `describe pod` ends with; a ReplicaSet's creates are
// its SuccessfulCreate Events. Only the scheduler and the ReplicaSet controller run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { explain, runBramble, startServerProcess, type CliResult, type ServerProcess } from '../../test/support/server-process.js';

const POD = `apiVersion: v1
kind: Pod
metadata: {name: lonely}
spec:
  containers:
    - {name: main, image: "busybox:1"}
`;

const REPLICASET = `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - {name: main, image: "busybox:1"}
`;

describe('events against a running server', () => {
  let server: ServerProcess;
  let dir: string;

  before(async () => {
    server = await startServerProcess({ extraArgs: ['--controllers', 'scheduler,replicaset,event-ttl', '--event-ttl', '2h'] });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-events-test-'));
  });
  after(async () => {
    await server?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const bramble = (...args: string[]): Promise<CliResult> => runBramble(['--config', server.configPath, ...args]);
  const apply = async (name: string, text: string): Promise<void> => {
    const file = path.join(dir, name);
    await fs.writeFile(file, text);
    const r = await bramble('apply', '-f', file);
    assert.equal(r.code, 0, explain(r));
  };
  /** Runs `bramble ...args` until its output matches: the recorder writes a new Event about a second later. */
  const eventually = async (args: string[], pattern: RegExp): Promise<CliResult> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const r = await bramble(...args);
      if (r.code === 0 && pattern.test(r.stdout)) return r;
      if (Date.now() > deadline) assert.fail(`no output matching ${pattern} from bramble ${args.join(' ')}: ${explain(r)}`);
      await delay(250);
    }
  };

  test('a Pod no node can take has a FailedScheduling Event, in get events and at the end of describe', async () => {
    await apply('pod.yaml', POD);
    const got = await eventually(['get', 'events', '--field-selector', 'involvedObject.name=lonely,type=Warning'], /FailedScheduling/);
    const lines = got.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    assert.match(lines[1]!, /^\S+\s+Warning\s+FailedScheduling\s+pod\/lonely\s+0\/0 nodes are available/);
    assert.equal(lines.length, 2, got.stdout);

    const described = await eventually(['describe', 'pod', 'lonely'], /FailedScheduling/);
    assert.match(described.stdout, /\nEvents:\n {2}Type\s+Reason\s+Age\s+From\s+Message\n/);
    assert.match(described.stdout, /\n {2}Warning\s+FailedScheduling\s+\S.*default-scheduler\s+0\/0 nodes are available/);

    const json = await bramble('get', 'events', '--field-selector', 'involvedObject.name=lonely', '-o', 'json');
    assert.equal(json.code, 0, explain(json));
    const [ev] = (JSON.parse(json.stdout) as { items: Record<string, unknown>[] }).items;
    assert.match(String((ev!['metadata'] as { name: string }).name), /^lonely\.[0-9a-f]+$/);
    assert.deepEqual(ev!['source'], { component: 'default-scheduler' });
  });

  test("a ReplicaSet's Pod creates are SuccessfulCreate Events about it", async () => {
    await apply('rs.yaml', REPLICASET);
    const got = await eventually(['get', 'ev', '--field-selector', 'involvedObject.kind=ReplicaSet,reason=SuccessfulCreate'], /(replicaset\/web\s+Created pod: web-\S+\n.*){2}/s);
    assert.doesNotMatch(got.stdout, /FailedScheduling/);
    const described = await eventually(['describe', 'rs', 'web'], /SuccessfulCreate/);
    assert.match(described.stdout, /Normal\s+SuccessfulCreate\s+\S+\s+replicaset-controller\s+Created pod: web-/);
  });

  test('an object without events says so at the end of describe', async () => {
    const r = await bramble('describe', 'ns', 'default');
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /Events: {2}<none>\n$/);
  });

  test('an unknown field in --field-selector is a usage error naming it', async () => {
    const r = await bramble('get', 'events', '--field-selector', 'involvedObject.colour=red');
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /"involvedObject.colour" is not a field of Event/);
    assert.equal(r.stdout, '');
  });

  test('--event-ttl that is not a duration stops the server before it starts', async () => {
    const r = await runBramble(['server', '--disable-agent', '--event-ttl', '0', '--data-dir', path.join(dir, 'never')]);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /--event-ttl must be a positive duration/);
  });
});
