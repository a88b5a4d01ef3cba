// Child processes of the DNS benchmark (bench/dns.ts), each started inside a
// network namespace:
//   upstream --address A --port P    a stand-in for the board's own resolver: answers every A query
//   load --server A --port P --names FILE --concurrency N --duration-ms D
//        a closed-loop UDP client (N queries outstanding), one JSON result line
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import dnsPacket from 'dns-packet';

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (v === undefined) throw new Error(`--${name} must be given`);
  return v;
}

async function upstream(): Promise<void> {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => {
    try {
      const q = dnsPacket.decode(m);
      const name = q.questions?.[0]?.name ?? '';
      s.send(dnsPacket.encode({
        type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED, questions: q.questions,
        answers: [{ type: 'A', name, ttl: 3600, class: 'IN', data: '192.0.2.1' }],
      }), r.port, r.address);
    } catch {
      // not a query: nothing to answer
    }
  });
  await new Promise<void>((resolve) => s.bind(Number(arg('port')), arg('address'), () => resolve()));
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

async function load(): Promise<void> {
  const server = arg('server');
  const port = Number(arg('port'));
  const names = readFileSync(arg('names'), 'utf8').split('\n').filter(Boolean);
  const concurrency = Number(arg('concurrency'));
  const durationMs = Number(arg('duration-ms'));
  const timeoutMs = 1000;
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '0.0.0.0', () => r()));
  const pending = new Map<number, { sent: number; timer: NodeJS.Timeout }>();
  const latencies: number[] = [];
  let nextId = 0;
  let timeouts = 0;
  let errors = 0;
  let stopping = false;
  const started = performance.now();
  let finish: () => void = () => undefined;
  const done = new Promise<void>((r) => {
    finish = r;
  });
  const sendOne = (): void => {
    if (stopping) {
      if (pending.size === 0) finish();
      return;
    }
    let id = nextId = (nextId + 1) & 0xffff;
    while (pending.has(id)) id = nextId = (nextId + 1) & 0xffff;
    const name = names[Math.floor(Math.random() * names.length)]!;
    const msg = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] });
    const timer = setTimeout(() => {
      pending.delete(id);
      timeouts++;
      sendOne();
    }, timeoutMs);
    pending.set(id, { sent: performance.now(), timer });
    socket.send(msg, port, server);
  };
  socket.on('message', (m) => {
    const id = m.readUInt16BE(0);
    const p = pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    pending.delete(id);
    latencies.push(performance.now() - p.sent);
    if ((m.readUInt16BE(2) & 0xf) !== 0) errors++;
    sendOne();
  });
  for (let i = 0; i < concurrency; i++) sendOne();
  setTimeout(() => {
    stopping = true;
    if (pending.size === 0) finish();
  }, durationMs);
  await done;
  const seconds = (performance.now() - started) / 1000;
  socket.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies.length === 0 ? 0 : latencies[Math.max(0, Math.ceil((p / 100) * latencies.length) - 1)]!;
  process.stdout.write(`${JSON.stringify({
    answered: latencies.length, timeouts, errors, seconds,
    qps: latencies.length / seconds,
    latencyMs: { p50: pct(50), p99: pct(99), max: latencies[latencies.length - 1] ?? 0 },
  })}\n`);
}

const mode = process.argv[2];
(mode === 'upstream' ? upstream() : mode === 'load' ? load() : Promise.reject(new Error(`mode must be "upstream" or "load": current value is ${String(mode)}`))).catch((e: unknown) => {
  process.stderr.write(`dns-load: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
