// Issue 6, "No input takes Bramble down": property-based fuzzing of both gRPC
// services and the HTTP port of one real `bramble server` process. Every case
// is a batch of calls made one at a time; after each call the outcome is judged
// (a result, or a refusal with a Bramble code that is not INTERNAL, within the
// deadline) and the store's object count must have moved only as an accepted
// write says; after each batch the process must be alive, /healthz and /readyz
// must answer 200, and the store must still list what it holds.
//
// Replay a failure with FUZZ_SEED=<seed> FUZZ_PATH=<path> (fast-check prints
// both); run longer with FUZZ_RUNS=1000 (default 100 = the numbers below).
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import { createCsrForKey, createNodeKeyAndCsr } from '../../agent/join-tls.js';
import { resolveKind } from '../../proto/model.js';
import {
  CALLER_NODE, FuzzHarness, NODE_A, NODE_B, POD_A, POD_B, describeOutcome, fuzzParams, materialize,
  mustBeRefused, rawHttp, refusalProblems, type CallSpec, type Caller, type Outcome,
} from '../../test/support/fuzz.js';
import {
  anyString, asCluster, asNode, hugeCall, joinCase, type CsrRecipe, type TokenRecipe,
} from '../../test/support/fuzz-arbitraries.js';

let h: FuzzHarness;

before(async () => {
  h = await FuzzHarness.start();
  await h.ensureSeedPods();
});

after(async () => {
  // Every death, once: the properties report the input, this the count and the last words.
  for (const [i, d] of (h?.deaths ?? []).entries()) {
    process.stderr.write(`bramble server death ${i + 1} of ${h.deaths.length} (${d.exit}), restarted for the next case; last output:\n${d.tail.slice(-1500)}\n`);
  }
  await h?.close();
});

// ------------------------------------------------------------------ judging one call

function claimOf(spec: CallSpec): string | undefined {
  const req = materialize(spec.request) as Record<string, unknown> | Record<string, unknown>[];
  if (spec.method === 'Tunnel') return (req as Record<string, unknown>[])[0]?.nodeName as string | undefined;
  if (spec.method === 'Heartbeat' || spec.method === 'WatchAssignments') return (req as Record<string, unknown>).nodeName as string;
  return undefined;
}

/** Refusals that must happen whatever the request holds: who may call what, and for whom. */
function requiredRefusal(spec: CallSpec): { codes: string[]; why: string } | undefined {
  const who = `${spec.method} as ${spec.as}`;
  if (spec.service === 'Cluster') {
    if (spec.as === 'anon') return { codes: ['UNAUTHENTICATED'], why: `${who} (no certificate)` };
    if (spec.as !== 'admin') return { codes: ['FORBIDDEN'], why: `${who} (node certificate)` };
    return undefined;
  }
  if (spec.method === 'Join') return undefined;
  if (spec.as === 'anon') return { codes: ['UNAUTHENTICATED'], why: `${who} (no certificate)` };
  if (spec.as === 'admin') return { codes: ['FORBIDDEN'], why: `${who} (admin certificate on the Node API)` };
  const self = CALLER_NODE[spec.as]!;
  const other = self === NODE_A ? NODE_B : NODE_A;
  const claim = claimOf(spec);
  if (claim === other) return { codes: ['FORBIDDEN'], why: `${who} claiming node "${other}"` };
  if (claim !== undefined && claim !== '' && claim !== self) {
    // A claim that is not the caller: refused as FORBIDDEN, or as malformed before that.
    return { codes: ['FORBIDDEN', 'INVALID_ARGUMENT', 'VALIDATION_FAILED'], why: `${who} claiming node ${JSON.stringify(claim).slice(0, 80)}` };
  }
  if (spec.method === 'UpdatePodStatus') {
    const req = materialize(spec.request) as { namespace: string; name: string };
    const othersPod = self === NODE_A ? POD_B : POD_A;
    if (req.namespace === 'default' && req.name === othersPod) {
      return { codes: ['FORBIDDEN', 'INVALID_ARGUMENT', 'VALIDATION_FAILED'], why: `${who} on pod "${othersPod}" bound to "${other}"` };
    }
  }
  return undefined;
}

function authProblems(spec: CallSpec, o: Outcome, bytes: number | undefined): string[] {
  const required = requiredRefusal(spec);
  if (required) return mustBeRefused(o, required.codes, required.why, bytes);
  // A node acting for itself, or the admin on the Cluster API, is never refused for who it is
  // (a node may only update its own pods: FORBIDDEN is right for any pod but its seeded one).
  const ownPod = spec.as === 'nodeA' ? POD_A : POD_B;
  const foreignPod = spec.method === 'UpdatePodStatus' && !((materialize(spec.request) as { namespace: string; name: string }).namespace === 'default' && (materialize(spec.request) as { name: string }).name === ownPod);
  if (spec.method !== 'Join' && !foreignPod && o.kind === 'refused' && (o.code === 'FORBIDDEN' || o.code === 'UNAUTHENTICATED')) {
    const deleteDefault = spec.method === 'Delete' && o.code === 'FORBIDDEN' && /namespace "default"/.test(o.message);
    if (!deleteDefault) return [`${spec.method} as ${spec.as} acting for itself was refused as ${o.code}: ${o.message.slice(0, 200)}`];
  }
  return [];
}

/** How the object count may move after this outcome; undefined when `delta` is allowed. */
function countProblem(spec: CallSpec, o: Outcome, delta: number): string | undefined {
  const req = materialize(spec.request) as Record<string, unknown>;
  if (o.kind !== 'ok') return delta === 0 ? undefined : `object count changed by ${delta} although the call was ${o.kind === 'refused' ? `refused (${o.code})` : o.kind}`;
  const res = (o.response ?? {}) as { results?: { action: string }[] };
  switch (spec.method) {
    case 'Apply': {
      const created = req.dryRun ? 0 : (res.results ?? []).filter((r) => r.action === 'created').length;
      return delta === created ? undefined : `accepted Apply reported ${created} created (dryRun=${String(req.dryRun)}) but the count changed by ${delta}`;
    }
    case 'Delete': {
      const namespace = resolveKind(String(req.kind))?.kind === 'Namespace';
      return delta <= 0 && (namespace || delta >= -1) ? undefined : `accepted Delete of ${String(req.kind)} changed the count by ${delta}`;
    }
    case 'CreateToken': return delta === 1 ? undefined : `accepted CreateToken changed the count by ${delta}, not +1`;
    case 'DeleteToken': return delta === -1 ? undefined : `accepted DeleteToken changed the count by ${delta}, not -1`;
    case 'Join': return delta === 0 || delta === 1 ? undefined : `accepted Join changed the count by ${delta}`;
    case 'UpdatePodStatus': return delta === 0 || (delta === -1 && req.finalized) ? undefined : `accepted UpdatePodStatus changed the count by ${delta}`;
    default: return delta === 0 ? undefined : `accepted ${spec.method} (not a write) changed the count by ${delta}`;
  }
}

function show(spec: CallSpec): string {
  const text = JSON.stringify(materialize(spec.request), (_k, v: unknown) => {
    if (typeof v === 'string' && v.length > 200) return `${v.slice(0, 120)}…(${v.length} chars)`;
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer') return `<${((v as { data: unknown[] }).data).length} bytes>`;
    return v;
  });
  // Non-ASCII escaped: an invisible character is often the whole point of the case.
  const visible = text.slice(0, 1500).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${spec.service}.${spec.method} as ${spec.as}${spec.stream ? ` stream=${JSON.stringify(spec.stream)}` : ''} ${visible}`;
}

interface BatchOptions {
  /** Extra per-call checks (the Join rules). */
  extra?: (spec: CallSpec, o: Outcome, delta: number) => string[];
}

/**
 * Runs the calls one at a time and throws at the first broken rule, with the
 * call, its outcome and, when the server died, its exit and last output. A
 * server killed by an earlier case is restarted first, so shrinking works.
 */
async function runBatch(calls: CallSpec[], opts: BatchOptions = {}): Promise<void> {
  await h.ensureUp();
  let count = await h.objectCount();
  let createdToken = '';
  for (const [i, original] of calls.entries()) {
    let spec = original;
    if (spec.method === 'DeleteToken' && (spec.request as { id: unknown }).id === '<created>') {
      spec = { ...spec, request: { id: createdToken } };
    }
    const bytes = h.requestBytes(spec, materialize(spec.request));
    const o = await h.perform(spec, { mustRefuse: requiredRefusal(spec) !== undefined || spec.overLimit !== undefined });
    // FUZZ_TRACE=1 prints every call as it finishes: for watching a long local run.
    if (process.env.FUZZ_TRACE) process.stderr.write(`${new Date().toISOString()} ${show(spec).slice(0, 300)}\n  → ${describeOutcome(o)}\n`);
    const problems = [...refusalProblems(spec, o, bytes), ...authProblems(spec, o, bytes)];
    if (spec.overLimit) {
      // Who may call is checked first or after the limits: either refusal is right.
      const codes = [...spec.overLimit.codes, ...(requiredRefusal(spec)?.codes ?? [])];
      problems.push(...mustBeRefused(o, codes, `${spec.method} over ${spec.overLimit.limit}`, bytes));
    }
    let delta = 0;
    const dead = h.deathReport();
    if (dead) problems.push(dead);
    else {
      try {
        const now = await h.objectCount();
        delta = now - count;
        count = now;
        const cp = countProblem(spec, o, delta);
        if (cp) problems.push(`COUNT: ${cp}`);
      } catch (e) {
        problems.push(`the server stopped answering Version after this call: ${(e as Error).message}`);
      }
    }
    problems.push(...(opts.extra?.(spec, o, delta) ?? []));
    if (spec.method === 'CreateToken' && o.kind === 'ok') createdToken = (o.response as { id: string }).id;
    if (problems.length > 0) {
      throw new Error(`call ${i + 1} of ${calls.length}: ${show(spec)}\n  → ${describeOutcome(o)}\n  ✗ ${problems.join('\n  ✗ ')}`);
    }
  }
  const sick = await h.health();
  if (sick) throw new Error(`after a batch of ${calls.length} calls the server is not healthy: ${sick}`);
}

const batch = (call: fc.Arbitrary<CallSpec>, max = 12) => fc.array(call, { minLength: 1, maxLength: max });

async function check(arb: fc.Arbitrary<CallSpec[]>, runs: number, prepare?: () => Promise<void>): Promise<void> {
  await fc.assert(fc.asyncProperty(arb, async (calls) => {
    await h.ensureUp();
    await prepare?.();
    await runBatch(calls);
  }), fuzzParams(runs));
}

// ------------------------------------------------------------------ properties

describe('the gRPC services of a real bramble server under random and adversarial input', () => {
  test('every Cluster method answers the admin with a result or a coded refusal, and only accepted writes change the object count', async () => {
    await check(batch(asCluster('admin'), 15), 40);
  });

  test('every Cluster method refuses a caller without a certificate as UNAUTHENTICATED and a node certificate as FORBIDDEN, whatever the request', async () => {
    await check(batch(fc.oneof(asCluster('anon'), asCluster('nodeA'), asCluster('nodeB')), 15), 25);
  });

  test('every Node method serves a node acting for itself, refuses another node\'s claims as FORBIDDEN, the admin as FORBIDDEN and no certificate as UNAUTHENTICATED', async () => {
    await check(batch(asNode(fc.constantFrom<Caller>('nodeA', 'nodeA', 'nodeB', 'anon', 'admin')), 12), 40, () => h.ensureSeedPods());
  });

  test('a few megabytes in one field, one document or one chunk are refused with a code and leave the server up', async () => {
    await check(batch(hugeCall, 2), 8, () => h.ensureSeedPods());
  });

  test('many streams at once, early cancels and half-closes leave no stream open and the server answering', async () => {
    const streamSpec = fc.record({
      as: fc.constantFrom<Caller>('admin', 'nodeA', 'anon'),
      n: fc.integer({ min: 1, max: 45 }),
      frames: fc.integer({ min: 0, max: 300 }),
    });
    await fc.assert(fc.asyncProperty(streamSpec, async ({ as, n, frames }) => {
      await h.ensureUp();
      const watch: CallSpec = as === 'admin'
        ? { service: 'Cluster', method: 'Watch', as, request: { kind: '', namespace: '', fromRevision: 0, labelSelector: '' }, stream: { mode: 'probe' } }
        : { service: 'Node', method: 'WatchAssignments', as, request: { nodeName: '' }, stream: { mode: 'probe' } };
      // n concurrent streams from one client: over maxStreamsPerClient the rest must be refused with a code.
      const outcomes = await Promise.all(Array.from({ length: n }, () => h.perform(watch, { mustRefuse: requiredRefusal(watch) !== undefined })));
      for (const o of outcomes) {
        const p = [...refusalProblems(watch, o, 0), ...authProblems(watch, o, 0)];
        if (p.length) throw new Error(`one of ${n} concurrent ${watch.method} streams as ${as}: ${describeOutcome(o)}\n  ✗ ${p.join('\n  ✗ ')}`);
      }
      // A tunnel with many frames, then half-closed; and an import cancelled half way.
      const tunnel: CallSpec = { service: 'Node', method: 'Tunnel', as, request: [{ nodeName: '' }, ...Array.from({ length: frames }, (_, i) => ({ requestId: i, data: Buffer.from([i % 256]), done: i % 7 === 0 }))], stream: { mode: 'end' } };
      const image: CallSpec = { service: 'Cluster', method: 'ImportImage', as, request: Array.from({ length: frames + 1 }, (_, i) => ({ node: i === 0 ? NODE_A : '', data: Buffer.alloc(1024, i) })), stream: { mode: 'cancel', cancelAfter: Math.floor(frames / 2) } };
      await runBatch([tunnel, image]);
      // Cancelled streams must give their slots back: a new one is accepted again within a deadline.
      const deadline = Date.now() + 5000;
      for (;;) {
        const o = await h.perform(watch, { mustRefuse: requiredRefusal(watch) !== undefined });
        if (o.kind !== 'refused' || (o.code !== 'RATE_LIMITED' && o.code !== 'LIMIT_EXCEEDED')) break;
        if (Date.now() > deadline) throw new Error(`${n} cancelled ${watch.method} streams as ${as} still hold their slots after 5 s: ${describeOutcome(o)}`);
        await new Promise((r) => setImmediate(r));
      }
    }), fuzzParams(10));
  });

  test('the board calls (Logs, ImportImage, Top) through a node tunnel that answers garbage finish with a result or a coded refusal', async () => {
    const frames = fc.array(fc.record({
      sameId: fc.boolean(), data: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), done: fc.boolean(), error: fc.oneof(fc.constant(''), anyString),
    }), { maxLength: 8 });
    const scenario = fc.record({
      method: fc.constantFrom('Logs', 'ImportImage', 'Top'),
      frames,
      finish: fc.constantFrom('done', 'error', 'disconnect'),
      follow: fc.boolean(),
    });
    await fc.assert(fc.asyncProperty(scenario, async (sc) => {
      await h.ensureUp();
      await h.ensureSeedPods();
      await boardScenario(sc);
      const sick = await h.health();
      if (sick) throw new Error(`after the board scenario the server is not healthy: ${sick}`);
    }), fuzzParams(40));
  });

  test('Join with random tokens, names and CSRs is refused with a code, never hands out another node\'s name, and adds at most one node', async () => {
    await fc.assert(fc.asyncProperty(fc.array(joinCase, { minLength: 1, maxLength: 6 }), async (cases) => {
      await h.ensureUp();
      const specs: CallSpec[] = [];
      const expectations: { validToken: boolean; hijack: boolean; name: string }[] = [];
      for (const c of cases) {
        const token = tokenText(c.token as TokenRecipe);
        const csrPem = await csrText(c.csr as CsrRecipe, c.nodeName);
        specs.push({ service: 'Node', method: 'Join', as: c.as, request: { token, nodeName: c.nodeName, csrPem } });
        const ownKey = (c.nodeName === NODE_A && (c.csr as CsrRecipe).kind === 'key-of' && (c.csr as { node: string }).node === 'nodeA')
          || (c.nodeName === NODE_B && (c.csr as CsrRecipe).kind === 'key-of' && (c.csr as { node: string }).node === 'nodeB');
        expectations.push({ validToken: token.trim() === h.token, hijack: (c.nodeName === NODE_A || c.nodeName === NODE_B) && !ownKey, name: c.nodeName });
      }
      let i = 0;
      await runBatch(specs, {
        extra: (_spec, o) => {
          const e = expectations[i++]!;
          if (o.kind !== 'ok') return [];
          const out: string[] = [];
          if (!e.validToken) out.push('Join ACCEPTED with a token that is not the cluster\'s');
          if (e.hijack) out.push(`Join ACCEPTED for existing node "${e.name}" with another key (name hijack)`);
          return out;
        },
      });
    }), fuzzParams(15));
  });
});

describe('the HTTP port of a real bramble server under random and adversarial requests', () => {
  const requestArb = fc.record({
    method: fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'PRI'), fc.stringMatching(/^[A-Z]{1,12}$/), anyString),
    path: fc.oneof(fc.constantFrom('/healthz', '/readyz', '/metrics', '/', '*', '/healthz?x=%ff', '/%2e%2e/%2e%2e', '//metrics', '/metrics/', '/readyz#x'), fc.webPath(), anyString.map((s) => '/' + s)),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', ''),
    headers: fc.array(fc.tuple(fc.oneof(fc.constantFrom('Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Accept', 'Expect', 'Upgrade'), anyString), fc.oneof(fc.constantFrom('chunked', '-1', '99999999999', 'close', 'h2c', '100-continue', '0'), anyString)), { maxLength: 6 }),
    hugeHeader: fc.constantFrom(0, 0, 0, 20_000, 100_000),
    hugePath: fc.constantFrom(0, 0, 0, 20_000, 1_000_000),
    body: fc.oneof(fc.constant(Buffer.alloc(0)), fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a))),
    partial: fc.boolean(),
  });

  test('random methods, paths, headers and bodies, huge headers and URLs and abandoned partial requests never stop /healthz and /readyz answering', async () => {
    await fc.assert(fc.asyncProperty(fc.array(requestArb, { minLength: 1, maxLength: 10 }), async (reqs) => {
      await h.ensureUp();
      const held: { socket?: { destroy(): void } }[] = [];
      try {
        for (const r of reqs) {
          const pathText = r.path + (r.hugePath ? 'a'.repeat(r.hugePath) : '');
          const lines = [`${r.method} ${pathText} ${r.version}`, 'Host: 127.0.0.1', ...r.headers.map(([k, v]) => `${k}: ${v}`)];
          if (r.hugeHeader) lines.push(`X-Big: ${'b'.repeat(r.hugeHeader)}`);
          const head = Buffer.from(lines.join('\r\n') + (r.partial ? '\r\n' : '\r\n\r\n'), 'utf8');
          const payload = r.partial ? head : Buffer.concat([head, r.body]);
          // A partial request (slowloris) is kept open while the others and the probes run.
          const res = await rawHttp(h.server.httpPort, payload, { timeoutMs: r.partial ? 200 : 5000, keepOpen: r.partial });
          if (r.partial) held.push(res);
        }
        const sick = await h.health();
        if (sick) throw new Error(`with ${held.length} partial requests held open, the server is not healthy: ${sick}`);
      } finally {
        for (const s of held) s.socket?.destroy();
      }
      const sick = await h.health();
      if (sick) throw new Error(`after the HTTP batch the server is not healthy: ${sick}`);
    }), fuzzParams(25));
  });
});

// ------------------------------------------------------------------ Join and board helpers

function tokenText(r: TokenRecipe): string {
  if (r.kind === 'valid') return h.token;
  if (r.kind === 'text') return r.text;
  const at = r.at % h.token.length;
  return h.token.slice(0, at) + r.char + h.token.slice(at + 1);
}

async function csrText(r: CsrRecipe, nodeName: string): Promise<string> {
  // The agent refuses to make a CSR for an empty name; the harness still sends one for "x".
  const safe = async (name: string, make: (n: string) => Promise<string>): Promise<string> => {
    try { return await make(name); } catch { return make('x'); }
  };
  switch (r.kind) {
    case 'fresh': return safe(nodeName, async (n) => (await createNodeKeyAndCsr(n)).csrPem);
    case 'fresh-for': return safe(r.name, async (n) => (await createNodeKeyAndCsr(n)).csrPem);
    case 'key-of': return safe(nodeName, (n) => createCsrForKey(h.nodeCreds[r.node].keyPem, n));
    default: return String(materialize(r.text));
  }
}

interface BoardScenario {
  method: 'Logs' | 'ImportImage' | 'Top';
  frames: { sameId: boolean; data: Buffer; done: boolean; error: string }[];
  finish: 'done' | 'error' | 'disconnect';
  follow: boolean;
}

/**
 * Plays node A's agent on a real tunnel: waits for the control plane's request
 * for a board call made by the admin, answers it with the scenario's frames,
 * then ends the answer. The admin's call must end with a result or a coded
 * refusal within the deadline.
 */
async function boardScenario(sc: BoardScenario): Promise<void> {
  const node = h.client('Node', 'nodeA');
  const tunnel = (node.Tunnel as (md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, { requestId: number }>).call(node, new grpc.Metadata(), { deadline: Date.now() + 15_000 });
  const tunnelEnded = new Promise<void>((resolve) => { tunnel.on('error', () => resolve()); tunnel.on('status', () => resolve()); });
  let answered = 0;
  tunnel.on('data', (down: { requestId: number }) => {
    // Answer the first request only; image chunks after it carry the same id.
    if (answered++ > 0) return;
    for (const f of sc.frames) tunnel.write({ requestId: f.sameId ? down.requestId : down.requestId + 1000, data: f.data, done: f.done, error: f.error });
    if (sc.finish === 'done') tunnel.write({ requestId: down.requestId, done: true });
    else if (sc.finish === 'error') tunnel.write({ requestId: down.requestId, error: 'agent says no: café crème \u0000 \ud800' });
    else tunnel.end();
  });
  tunnel.write({ nodeName: '' });
  try {
    // The server handles frames in arrival order: once a later call on the same connection is answered, the tunnel is attached.
    await h.roundTrip('Node', 'nodeA');
    const spec: CallSpec = sc.method === 'Logs'
      ? { service: 'Cluster', method: 'Logs', as: 'admin', request: { namespace: 'default', pod: POD_A, container: 'main', follow: sc.follow, tailLines: -1 }, stream: { mode: 'end' } }
      : sc.method === 'ImportImage'
        ? { service: 'Cluster', method: 'ImportImage', as: 'admin', request: [{ node: NODE_A, data: Buffer.from('tar') }, { node: '', data: Buffer.from('more') }], stream: { mode: 'end' } }
        : { service: 'Cluster', method: 'Top', as: 'admin', request: { what: 'pods', namespace: '' } };
    const before = await h.objectCount();
    const o = await h.perform(spec);
    const problems = refusalProblems(spec, o, 0);
    if (sc.method !== 'Top' && answered === 0) problems.push(`the control plane never asked the attached tunnel anything: ${describeOutcome(o)}`);
    const dead = h.deathReport();
    if (dead) problems.push(dead);
    else if ((await h.objectCount()) !== before) problems.push('a board call changed the object count');
    if (problems.length) throw new Error(`${show(spec)} with the tunnel answering ${JSON.stringify({ ...sc, frames: sc.frames.length })}\n  → ${describeOutcome(o)}\n  ✗ ${problems.join('\n  ✗ ')}`);
  } finally {
    tunnel.cancel();
    await tunnelEnded;
  }
}

