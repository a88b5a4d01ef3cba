// The resolver as a process of its own: for the DNS benchmark (bench/dns.ts runs
// it inside a board netns) and for trying the resolver by hand. The agent itself
// runs DnsServer in-process, fed from WatchNetwork; here the cluster view is a
// JSON file (a list of Service and Endpoints objects, or a List with items).
//   node dist/agent/dns-server-main.js --address 10.42.0.1 [--port 53]
//        [--view objects.json] [--resolv-conf /etc/resolv.conf] [--upstream-port 53]
// Prints one JSON line {"ready":true,"port":N,"pid":P} once listening; SIGTERM or SIGINT stops it.
import { readFileSync } from 'node:fs';
import { realClock } from '../proto/util/clock.js';
import type { KObject } from '../proto/model.js';
import { ClusterDnsView } from './dns-records.js';
import { DnsForwarder, parseResolvConfNameservers } from './dns-forwarder.js';
import { DnsServer } from './dns-server.js';

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--') || i + 1 >= argv.length) throw new Error(`arguments must be --name value pairs: current value is ${JSON.stringify(a)}`);
    out.set(a.slice(2), argv[++i]!);
  }
  return out;
}

function intArg(args: Map<string, string>, name: string, fallback: number): number {
  const raw = args.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name} must be an integer from 0 to 65535: current value is ${raw}`);
  return n;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const address = args.get('address');
  if (!address) throw new Error('--address must be given: the one IP the resolver listens on');
  const view = new ClusterDnsView(args.get('cluster-domain'));
  const viewFile = args.get('view');
  if (viewFile) {
    const parsed = JSON.parse(readFileSync(viewFile, 'utf8')) as KObject[] | { items: KObject[] };
    view.replaceAll(Array.isArray(parsed) ? parsed : parsed.items);
  }
  const resolvConf = readFileSync(args.get('resolv-conf') ?? '/etc/resolv.conf', 'utf8');
  const upstreams = parseResolvConfNameservers(resolvConf, [address], intArg(args, 'upstream-port', 53));
  const forwarder = new DnsForwarder({ upstreams, clock: realClock });
  const server = new DnsServer({ address, port: intArg(args, 'port', 53), view, forwarder, clock: realClock });
  await server.start();
  process.stdout.write(`${JSON.stringify({ ready: true, port: server.port, pid: process.pid, services: view.serviceCount, upstreams })}\n`);
  const stop = (): void => {
    void server.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The benchmark asks for the counters on stdin ("metrics\n") rather than by signal.
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    if (chunk.includes('metrics')) process.stdout.write(`${JSON.stringify({ metrics: server.metrics() })}\n`);
  });
  process.stdin.on('end', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`dns-server-main: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
