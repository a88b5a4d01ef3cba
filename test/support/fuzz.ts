// The harness behind control-plane/api/grpc-fuzz.int.test.ts: one real `bramble
// server` process, raw grpc-js clients for every kind of caller (admin, node A,
// node B, nobody), calls that always finish (a deadline on each, streams we
// cancel ourselves), and a judge that turns one call's outcome into a problem
// or nothing. Properties run batches of calls, serially, so the store's object
// count can be checked after each one: no controller in the server creates or
// removes objects, so every change of the count comes from the call just made.
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import fs from 'node:fs/promises';
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ERROR_CODES, fromServiceError, type ErrorCode, type FieldProblem } from '../../proto/util/errors.js';
import { LIMITS } from '../../proto/limits.js';
import { loadProto } from '../../proto/load.js';
import { silentLogger } from '../../proto/util/log.js';
import { agentChannelOptions, ensureJoined } from '../../agent/agent-join.js';
import { joinChannelCredentials, nodeChannelCredentials, type NodeCredentials } from '../../agent/join-tls.js';
import { clientCredentials, readClientConfig } from '../../control-plane/pki/client-config.js';
import { startServerProcess, type ServerProcess } from './server-process.js';

/**
 * The fuzz checks that only accepted calls change the object count. Controllers
 * that create or delete objects on their own (a fuzzed ReplicaSet or DaemonSet makes Pods, the
 * collector removes objects whose owner never existed) would move it between
 * calls, so the API is fuzzed with them off; they have tests of their own.
 */
export const API_ONLY_CONTROLLERS = ['--controllers', 'scheduler,node-lifecycle'];

// ------------------------------------------------------------------ run size

/**
 * The seed CI runs when none is given: a submission must not fail on a fresh
 * random draw nobody has seen pass or fail. Local runs draw a new seed each
 * time (and FUZZ_RUNS makes them long), which is where new cases are found.
 */
export const CI_FUZZ_SEED = 20261201;

/** fc.assert parameters: FUZZ_SEED and FUZZ_PATH replay a failure, FUZZ_RUNS scales every property. */
export function fuzzParams<T>(defaultRuns: number): fc.Parameters<T> {
  const scale = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) / 100 : 1;
  const params: fc.Parameters<T> = {
    numRuns: Math.max(1, Math.round(defaultRuns * scale)),
    // A failure prints its seed and path; shrinking re-runs calls against the real server, so it is bounded.
    endOnFailure: false,
    verbose: 0,
    // The broken rule, the outcome and the server's last words, next to the shrunk input.
    includeErrorInReport: true,
  };
  if (process.env.FUZZ_SEED) params.seed = Number(process.env.FUZZ_SEED);
  else if (process.env.CI) params.seed = CI_FUZZ_SEED;
  if (process.env.FUZZ_PATH) params.path = process.env.FUZZ_PATH;
  return params;
}

/** A big or deep value built only when sent, so a counterexample prints as its recipe, not as megabytes. */
export class Lazy<T = string> {
  private made: { v: T } | undefined;
  constructor(readonly label: string, private readonly make: () => T) {}
  get value(): T {
    return (this.made ??= { v: this.make() }).v;
  }
  [fc.toStringMethod](): string {
    return `Lazy(${this.label})`;
  }
  toJSON(): string {
    return `Lazy(${this.label})`;
  }
}

/** Replaces every Lazy inside a request by its value (requests are plain trees). */
export function materialize(x: unknown): unknown {
  if (x instanceof Lazy) return materialize(x.value);
  if (Buffer.isBuffer(x) || x instanceof Uint8Array) return x;
  if (Array.isArray(x)) return x.map(materialize);
  if (x !== null && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = materialize(v);
    return out;
  }
  return x;
}

// ------------------------------------------------------------------ callers

export type Caller = 'admin' | 'anon' | 'nodeA' | 'nodeB';
export const NODE_A = 'fuzz-node-a';
export const NODE_B = 'fuzz-node-b';
export const POD_A = 'fuzz-pod-a';
export const POD_B = 'fuzz-pod-b';
export const CALLER_NODE: Partial<Record<Caller, string>> = { nodeA: NODE_A, nodeB: NODE_B };

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

interface Clients {
  cluster: Record<Caller, AnyClient>;
  node: Record<Caller, AnyClient>;
}

// ------------------------------------------------------------------ outcomes

export type Outcome =
  | { kind: 'ok'; response?: unknown; messages: unknown[] }
  /** A stream still open after the server had reacted to it (a barrier round trip), then cancelled by us: accepted. */
  | { kind: 'open'; messages: unknown[] }
  /** A stream we cancelled before the server could react: nothing to judge but the server's health and the count. */
  | { kind: 'abandoned'; messages: unknown[] }
  | {
      kind: 'refused';
      status: grpc.status;
      statusName: string;
      /** Whether the server put a Bramble error code in the trailers (any bramble-error* key). */
      coded: boolean;
      code: ErrorCode | string;
      message: string;
      details: FieldProblem[];
      messages: unknown[];
    }
  /** grpc-js could not encode the request: nothing reached the server. */
  | { kind: 'not-sent'; reason: string };

function refusal(e: grpc.ServiceError | Error, messages: unknown[]): Outcome {
  const se = e as grpc.ServiceError;
  const details = se.details ?? se.message;
  if (se.code === grpc.status.INTERNAL && /serializ/i.test(details) && /request/i.test(details)) {
    return { kind: 'not-sent', reason: details };
  }
  const keys = se.metadata ? Object.keys(se.metadata.getMap()) : [];
  const coded = keys.some((k) => k.startsWith('bramble-error'));
  const rebuilt = fromServiceError(e);
  return {
    kind: 'refused',
    status: se.code ?? grpc.status.UNKNOWN,
    statusName: grpc.status[se.code] ?? String(se.code),
    coded,
    code: rebuilt.code,
    message: rebuilt.message,
    details: Array.isArray(rebuilt.details) ? rebuilt.details : [],
    messages,
  };
}

export function describeOutcome(o: Outcome): string {
  switch (o.kind) {
    case 'ok': return `ok (${o.messages.length} stream messages)`;
    case 'open': return `accepted: still open when we cancelled (${o.messages.length} messages)`;
    case 'abandoned': return `cancelled by us before the server reacted (${o.messages.length} messages)`;
    case 'not-sent': return `not sent: ${o.reason}`;
    case 'refused':
      return `refused ${o.statusName} code=${o.coded ? o.code : `(none; rebuilt as ${o.code})`} ` +
        `message=${JSON.stringify(o.message.slice(0, 300))} details=${JSON.stringify(o.details.slice(0, 3)).slice(0, 300)}`;
  }
}

/**
 * How a stream call is driven. 'end': half-close after writing and wait for
 * the server to finish. 'probe' (server streams that never end, like Watch):
 * once a round trip on the same channel shows the server has handled the call,
 * cancel it. 'cancel': cancel after `cancelAfter` messages (received for server
 * streams, written for client and bidi streams), whatever the server did.
 * Calls that must be refused always wait for the server.
 */
export interface StreamPlan {
  mode: 'end' | 'probe' | 'cancel';
  cancelAfter?: number;
}

export interface CallSpec {
  service: 'Cluster' | 'Node';
  method: string;
  as: Caller;
  /** The request; for client and bidi streams, the list of messages. */
  request: unknown;
  stream?: StreamPlan;
  /** The request is over this limit of proto/limits.ts: it must be refused with one of these codes (or for who sent it). */
  overLimit?: { limit: string; codes: string[] };
}

export const SHAPES: Record<string, 'unary' | 'server-stream' | 'client-stream' | 'bidi'> = {
  Apply: 'unary', Get: 'unary', List: 'unary', Delete: 'unary', Watch: 'server-stream', Version: 'unary',
  CreateToken: 'unary', ListTokens: 'unary', DeleteToken: 'unary', Logs: 'server-stream', Top: 'unary',
  SecretsEncryptionStatus: 'unary', RotateSecretsEncryption: 'unary',
  ImportImage: 'client-stream',
  Join: 'unary', Heartbeat: 'unary', UpdatePodStatus: 'unary', WatchAssignments: 'server-stream', Tunnel: 'bidi',
};

export const CALL_DEADLINE_MS = 10_000;

// ------------------------------------------------------------------ the harness

export interface ServerDeath {
  exit: string;
  /** The last lines the process wrote: usually the stack that killed it. */
  tail: string;
}

export class FuzzHarness {
  private clients!: Clients;
  /** Every time the server was found dead and restarted, with what killed it. */
  readonly deaths: ServerDeath[] = [];
  nodeCreds!: Record<'nodeA' | 'nodeB', NodeCredentials>;
  token = '';
  caPem = '';
  readonly proto = loadProto();

  /** If the test process exits without after() (killed, crashed), the server and its files go with it. */
  private readonly onExit = (): void => {
    if (this.server.pid !== undefined && !this.server.exit()) {
      try { process.kill(this.server.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    rmSync(this.workDir, { recursive: true, force: true });
  };

  private constructor(readonly server: ServerProcess, readonly workDir: string) {
    process.once('exit', this.onExit);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { this.onExit(); process.exit(130); });
  }

  static async start(): Promise<FuzzHarness> {
    const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-fuzz-'));
    let server: ServerProcess | undefined;
    try {
      server = await startServerProcess({
        dataDir: path.join(workDir, 'server'), env: { ...process.env, BRAMBLE_LOG_LEVEL: 'warn' },
        extraArgs: API_ONLY_CONTROLLERS,
      });
      const h = new FuzzHarness(server, workDir);
      await h.setUp();
      return h;
    } catch (e) {
      await server?.close();
      await fs.rm(workDir, { recursive: true, force: true });
      throw e;
    }
  }

  private async setUp(): Promise<void> {
    this.token = (await fs.readFile(path.join(this.server.dataDir, 'token'), 'utf8')).trim();
    const cfg = await readClientConfig(this.server.configPath);
    this.caPem = cfg.ca;
    this.adminCfg = { ca: cfg.ca, cert: cfg.cert, key: cfg.key };
    // Two real joins, the way the agent does it: CA pinned from the token, a CSR for a key made here.
    const join = (name: string) => ensureJoined({
      server: this.address, token: this.token, nodeName: name, dataDir: path.join(this.workDir, name), logger: silentLogger(),
    });
    const a = await join(NODE_A);
    const b = await join(NODE_B);
    this.nodeCreds = { nodeA: a.credentials, nodeB: b.credentials };
    this.connect();
  }

  get address(): string {
    return `127.0.0.1:${this.server.grpcPort}`;
  }

  private credentials(caller: Caller, adminCfg: { ca: string; cert: string; key: string }): grpc.ChannelCredentials {
    if (caller === 'admin') return clientCredentials({ server: this.address, ...adminCfg });
    if (caller === 'anon') return joinChannelCredentials(this.caPem);
    return nodeChannelCredentials(this.nodeCreds[caller]);
  }

  private adminCfg?: { ca: string; cert: string; key: string };

  /** Fresh channels: after a restart, old ones sit in reconnect back-off. */
  private connect(): void {
    this.closeClients();
    const adminCfg = this.adminCfg;
    if (!adminCfg) throw new Error('admin config not read');
    const options: grpc.ChannelOptions = {
      ...agentChannelOptions(this.address),
      // Lists of big accepted objects can pass 4 MiB; the client must not be the one refusing.
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    };
    const make = (Ctor: typeof grpc.Client): Record<Caller, AnyClient> => {
      const out = {} as Record<Caller, AnyClient>;
      for (const c of ['admin', 'anon', 'nodeA', 'nodeB'] as Caller[]) {
        out[c] = new Ctor(this.address, this.credentials(c, adminCfg), options) as AnyClient;
      }
      return out;
    };
    this.clients = {
      cluster: make(this.proto.bramble.v1.Cluster as unknown as typeof grpc.Client),
      node: make(this.proto.bramble.v1.Node as unknown as typeof grpc.Client),
    };
  }

  private closeClients(): void {
    if (!this.clients) return;
    for (const group of [this.clients.cluster, this.clients.node]) for (const c of Object.values(group)) c.close();
  }

  async close(): Promise<void> {
    process.off('exit', this.onExit);
    this.closeClients();
    await this.server.close();
    await fs.rm(this.workDir, { recursive: true, force: true });
  }

  /**
   * Makes sure the server answers before a case starts: a process found dead
   * (killed by an earlier case, maybe still exiting) is restarted and the
   * death recorded, so each case, and each shrinking step, is judged alone.
   */
  async ensureUp(): Promise<ServerDeath | undefined> {
    if (!this.server.exit()) {
      const o = await this.unary(this.clients.cluster.admin, 'Version', {}, Date.now() + CALL_DEADLINE_MS);
      if (o.kind === 'ok') return undefined;
      await this.waitForExit(5000);
      if (!this.server.exit()) throw new Error(`bramble server is running but does not answer Version: ${describeOutcome(o)}\n${this.server.output().slice(-3000)}`);
    }
    const exit = this.server.exit()!;
    const death = { exit: `code ${exit.code} signal ${exit.signal}`, tail: this.server.output().slice(-4000) };
    this.deaths.push(death);
    await this.server.restart();
    this.connect();
    return death;
  }

  /** Polls for the process to exit (a crash is noticed by a failed call before the exit event). */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.server.exit() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.server.exit() !== undefined;
  }

  deathReport(): string | undefined {
    const exit = this.server.exit();
    if (!exit) return undefined;
    return `bramble server EXITED (code ${exit.code}, signal ${exit.signal}); last output:\n${this.server.output().slice(-3000)}`;
  }

  // -------------------------------------------------------------- calls

  /** Encoded size of a request, or undefined when grpc-js cannot encode it. */
  requestBytes(spec: CallSpec, request: unknown): number | undefined {
    const def = this.serviceDef(spec.service)[spec.method];
    if (!def) return undefined;
    try {
      const msgs = SHAPES[spec.method] === 'client-stream' || SHAPES[spec.method] === 'bidi' ? (request as unknown[]) : [request];
      return Math.max(0, ...msgs.map((m) => def.requestSerialize(m).length));
    } catch {
      return undefined;
    }
  }

  private serviceDef(service: 'Cluster' | 'Node'): grpc.ServiceDefinition {
    return (service === 'Cluster' ? this.proto.bramble.v1.Cluster.service : this.proto.bramble.v1.Node.service) as unknown as grpc.ServiceDefinition;
  }

  client(service: 'Cluster' | 'Node', caller: Caller): AnyClient {
    return service === 'Cluster' ? this.clients.cluster[caller] : this.clients.node[caller];
  }

  /** One call, always finished within CALL_DEADLINE_MS (the deadline turns a hang into DEADLINE_EXCEEDED). */
  async perform(spec: CallSpec, opts: { mustRefuse?: boolean } = {}): Promise<Outcome> {
    if (opts.mustRefuse && spec.stream) spec = { ...spec, stream: { mode: 'end' } };
    const request = materialize(spec.request);
    const client = this.client(spec.service, spec.as);
    const deadline = Date.now() + CALL_DEADLINE_MS;
    const shape = SHAPES[spec.method];
    try {
      if (shape === 'unary') return await this.unary(client, spec.method, request, deadline);
      if (shape === 'server-stream') return await this.serverStream(client, spec, request, deadline);
      if (shape === 'client-stream') return await this.clientStream(client, spec, request as unknown[], deadline);
      return await this.bidi(client, spec, request as unknown[], deadline);
    } catch (e) {
      // Thrown synchronously by grpc-js: the request could not be encoded.
      return { kind: 'not-sent', reason: e instanceof Error ? e.message : String(e) };
    }
  }

  private unary(client: AnyClient, method: string, request: unknown, deadline: number): Promise<Outcome> {
    return new Promise((resolve) => {
      const fn = client[method] as (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: unknown) => void) => void;
      fn.call(client, request, new grpc.Metadata(), { deadline }, (err, res) => {
        resolve(err ? refusal(err, []) : { kind: 'ok', response: res, messages: [] });
      });
    });
  }

  /** A server stream: see StreamPlan for when it ends. */
  private serverStream(client: AnyClient, spec: CallSpec, request: unknown, deadline: number): Promise<Outcome> {
    return new Promise((resolve) => {
      const messages: unknown[] = [];
      const plan = spec.stream ?? { mode: 'end' };
      let cancelledAs: 'open' | 'abandoned' | undefined;
      let done = false;
      const call = (client[spec.method] as (req: unknown, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>).call(
        client, request, { deadline },
      );
      const finish = (o: Outcome): void => {
        if (done) return;
        done = true;
        resolve(o);
      };
      const cancel = (as: 'open' | 'abandoned'): void => {
        if (done || cancelledAs) return;
        cancelledAs = as;
        call.cancel();
      };
      call.on('data', (m) => {
        // Keep a few for the judge; a watch from revision 1 may send thousands.
        if (messages.length < 50) messages.push(m);
        if (plan.mode === 'cancel' && messages.length >= (plan.cancelAfter ?? 0)) cancel('open');
      });
      call.on('error', (e: grpc.ServiceError) => {
        if (cancelledAs && e.code === grpc.status.CANCELLED) finish({ kind: cancelledAs, messages });
        else finish(refusal(e, messages));
      });
      call.on('status', (s: grpc.StatusObject) => {
        if (s.code === grpc.status.OK) finish({ kind: 'ok', messages });
      });
      if (plan.mode === 'cancel' && (plan.cancelAfter ?? 0) === 0) cancel('abandoned');
      else if (plan.mode !== 'end') void this.barrier(client, deadline).then(() => cancel('open'));
    });
  }

  /** A round trip on the caller's channel for `service`: answered after everything sent earlier on it was handled. */
  async roundTrip(service: 'Cluster' | 'Node', caller: Caller): Promise<void> {
    await this.barrier(this.client(service, caller), Date.now() + CALL_DEADLINE_MS);
  }

  /** A round trip on the same channel; its answer is written after the earlier call's first reaction. */
  private async barrier(client: AnyClient, deadline: number): Promise<void> {
    const method = typeof client.Version === 'function' ? 'Version' : 'Heartbeat';
    const req = method === 'Version' ? {} : { nodeName: '\u0000barrier-not-a-node' };
    await this.unary(client, method, req, deadline);
  }

  private clientStream(client: AnyClient, spec: CallSpec, messages: unknown[], deadline: number): Promise<Outcome> {
    return new Promise((resolve) => {
      let cancelledByUs = false;
      const call = (client[spec.method] as (md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: unknown) => void) => grpc.ClientWritableStream<unknown>).call(
        client, new grpc.Metadata(), { deadline }, (err, res) => {
          if (err && cancelledByUs && err.code === grpc.status.CANCELLED) resolve({ kind: 'abandoned', messages: [] });
          else resolve(err ? refusal(err, []) : { kind: 'ok', response: res, messages: [] });
        },
      );
      call.on('error', () => undefined);
      sendAll(call, spec, messages, () => (cancelledByUs = true));
    });
  }

  private bidi(client: AnyClient, spec: CallSpec, messages: unknown[], deadline: number): Promise<Outcome> {
    return new Promise((resolve) => {
      const received: unknown[] = [];
      let cancelledByUs = false;
      let done = false;
      const finish = (o: Outcome): void => {
        if (!done) { done = true; resolve(o); }
      };
      const call = (client[spec.method] as (md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, unknown>).call(
        client, new grpc.Metadata(), { deadline },
      );
      call.on('data', (m) => { if (received.length < 50) received.push(m); });
      call.on('error', (e: grpc.ServiceError) => {
        if (cancelledByUs && e.code === grpc.status.CANCELLED) finish({ kind: 'abandoned', messages: received });
        else finish(refusal(e, received));
      });
      call.on('status', (s: grpc.StatusObject) => { if (s.code === grpc.status.OK) finish({ kind: 'ok', messages: received }); });
      sendAll(call, spec, messages, () => (cancelledByUs = true));
    });
  }

  // -------------------------------------------------------------- admin reads

  async admin<T>(method: string, request: unknown): Promise<T> {
    const o = await this.unary(this.clients.cluster.admin, method, request, Date.now() + CALL_DEADLINE_MS);
    if (o.kind !== 'ok') {
      throw new Error(`admin ${method} ${JSON.stringify(request).slice(0, 200)} failed: ${describeOutcome(o)}` + (this.deathReport() ? `\n${this.deathReport()}` : ''));
    }
    return o.response as T;
  }

  /**
   * Objects in the store, less the Events the control plane recorded itself (they carry a
   * reportingComponent): the scheduler's FailedScheduling about a fuzzed Pod lands a second
   * after the call that made the Pod, which no call's count should be blamed for. The total
   * is read on both sides of the Event list, so a write in between is seen and read again.
   */
  async objectCount(): Promise<number> {
    for (;;) {
      const before = (await this.admin<{ objectCount: number }>('Version', {})).objectCount;
      const events = await this.admin<{ objects: string[] }>('List', { kind: 'Event', namespace: '', labelSelector: '' });
      const recorded = events.objects.filter((o) => (JSON.parse(o) as { reportingComponent?: string }).reportingComponent !== undefined).length;
      const after = (await this.admin<{ objectCount: number }>('Version', {})).objectCount;
      if (before === after) return after - recorded;
    }
  }

  /** The two seed pods, bound to node A and B, present and not terminating. */
  async ensureSeedPods(): Promise<void> {
    for (const [name, node] of [[POD_A, NODE_A], [POD_B, NODE_B]] as const) {
      const got = await this.unary(this.clients.cluster.admin, 'Get', { kind: 'Pod', namespace: 'default', name }, Date.now() + CALL_DEADLINE_MS);
      if (got.kind === 'ok') {
        const obj = JSON.parse((got.response as { object: string }).object) as { metadata: { deletionTimestamp?: string } };
        if (!obj.metadata.deletionTimestamp) continue;
        await this.admin('Delete', { kind: 'Pod', namespace: 'default', name, force: true });
      }
      await this.admin('Apply', { objects: [JSON.stringify(seedPod(name, node))] });
    }
  }

  /** Problems with the process or its HTTP probes, or undefined when healthy. */
  async health(): Promise<string | undefined> {
    const dead = this.deathReport();
    if (dead) return dead;
    for (const p of ['/healthz', '/readyz']) {
      try {
        const res = await fetch(`http://127.0.0.1:${this.server.httpPort}${p}`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.status !== 200) return `GET ${p} answered ${res.status}`;
      } catch (e) {
        return `GET ${p} failed: ${e instanceof Error ? e.message : String(e)}` + (this.deathReport() ? `\n${this.deathReport()}` : '');
      }
    }
    // The store must still serve what it holds: a stored value that cannot be encoded breaks every later list.
    for (const kind of ['Pod', 'Node', 'ConfigMap', 'Namespace']) {
      const o = await this.unary(this.clients.cluster.admin, 'List', { kind, namespace: '', labelSelector: '' }, Date.now() + CALL_DEADLINE_MS);
      if (o.kind !== 'ok') return `admin List ${kind} after the batch: ${describeOutcome(o)}`;
    }
    return undefined;
  }
}

export function seedPod(name: string, node: string): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: 'fuzz' } },
    spec: { nodeName: node, containers: [{ name: 'main', image: 'docker.io/library/busybox:1.36' }] },
  };
}

// ------------------------------------------------------------------ judging

const VALIDATION_CODES = new Set<string>(['INVALID_ARGUMENT', 'VALIDATION_FAILED', 'MANIFEST_PARSE_FAILED', 'UNKNOWN_KIND', 'LIMIT_EXCEEDED']);

/**
 * What must hold for every refusal: it came with a Bramble code (not a bare
 * transport status), the code is a known one and matches the gRPC status, and
 * it is not INTERNAL (an unexpected exception) or DEADLINE_EXCEEDED (a hang).
 * A request over maxRequestBytes may be refused by grpc-js before any handler
 * (limits.ts says so), with RESOURCE_EXHAUSTED and no code.
 */
export function refusalProblems(spec: CallSpec, o: Outcome, requestBytes: number | undefined): string[] {
  if (o.kind !== 'refused') return [];
  const out: string[] = [];
  if (o.status === grpc.status.DEADLINE_EXCEEDED) return [`HANG: no answer within ${CALL_DEADLINE_MS} ms (DEADLINE_EXCEEDED)`];
  const oversize = requestBytes !== undefined && requestBytes > LIMITS.maxRequestBytes;
  if (!o.coded) {
    if (!(oversize && o.status === grpc.status.RESOURCE_EXHAUSTED)) out.push(`UNCODED refusal: ${o.statusName} without a bramble error code (transport failure or raw grpc error): ${o.message.slice(0, 300)}`);
    return out;
  }
  if (!(o.code in ERROR_CODES)) out.push(`unknown error code ${o.code}`);
  else if (ERROR_CODES[o.code as ErrorCode] !== o.status) out.push(`code ${o.code} travelled with gRPC status ${o.statusName}, not ${grpc.status[ERROR_CODES[o.code as ErrorCode]]}`);
  if (o.code === 'INTERNAL') out.push(`INTERNAL error (an unexpected exception in the handler): ${o.message.slice(0, 300)}`);
  if (spec.method === 'Apply' && o.status === grpc.status.INVALID_ARGUMENT) {
    const objects = ((materialize(spec.request) as { objects?: unknown[] }).objects ?? []);
    const namesField = o.details.some((d) => typeof d.path === 'string' && d.path !== '');
    const namesDocument = /document/i.test(o.message);
    if (objects.length > 0 && !namesField && !namesDocument) out.push(`Apply refusal ${o.code} names neither a field path nor the document: ${o.message.slice(0, 200)}`);
  }
  return out;
}

/** Problems when `o` is not a refusal with one of `codes` (a request that must be refused whatever it holds). */
export function mustBeRefused(o: Outcome, codes: string[], why: string, requestBytes: number | undefined): string[] {
  if (o.kind === 'not-sent' || o.kind === 'abandoned') return [];
  if (o.kind === 'open') return [`${why}: expected ${codes.join('|')}, but the stream stayed open`];
  if (o.kind === 'ok') return [`${why}: expected ${codes.join('|')}, but the call was ACCEPTED`];
  if (requestBytes !== undefined && requestBytes > LIMITS.maxRequestBytes && o.status === grpc.status.RESOURCE_EXHAUSTED) return [];
  // Limits on streams and joins apply before identity; they are refusals too.
  if (['LIMIT_EXCEEDED', 'RATE_LIMITED', ...codes].includes(o.code)) return [];
  return [`${why}: expected ${codes.join('|')}, got ${o.code}`];
}

export function isValidationRefusal(o: Outcome): boolean {
  return o.kind === 'refused' && VALIDATION_CODES.has(o.code);
}

// ------------------------------------------------------------------ HTTP

/** One raw HTTP/1.1 exchange: what came back first (a status line) or how the socket ended. */
export function rawHttp(port: number, payload: Buffer, opts: { timeoutMs?: number; keepOpen?: boolean } = {}): Promise<{ status?: number; closed: boolean; timedOut: boolean; socket?: net.Socket }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = '';
    let settled = false;
    const settle = (r: { status?: number; closed: boolean; timedOut: boolean }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (opts.keepOpen && !r.closed) resolve({ ...r, socket });
      else { socket.destroy(); resolve(r); }
    };
    const timer = setTimeout(() => settle({ closed: false, timedOut: true }), opts.timeoutMs ?? 5000);
    socket.on('error', () => settle({ closed: true, timedOut: false }));
    socket.on('close', () => settle({ closed: true, timedOut: false, status: statusOf(buf) }));
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      const s = statusOf(buf);
      if (s !== undefined) settle({ status: s, closed: false, timedOut: false });
    });
    socket.write(payload, () => undefined);
  });
}

function statusOf(text: string): number | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Writes a client stream's messages, then half-closes it, or cancels it part way when the spec says so. */
function sendAll(call: { write(m: unknown): unknown; end(): void; cancel(): void }, spec: CallSpec, messages: unknown[], cancelling: () => void): void {
  const limit = spec.stream?.mode === 'cancel' ? Math.min(spec.stream.cancelAfter ?? 0, messages.length) : messages.length;
  for (const m of messages.slice(0, limit)) call.write(m);
  if (spec.stream?.mode === 'cancel') {
    cancelling();
    call.cancel();
  } else {
    call.end();
  }
}
