// The client of the service-ready benchmark (bench/service-ready.ts), started by
// `ip netns exec` inside the client Pod's network namespace, so its requests
// leave through the Pod's eth0, its veth and the board's bridge and Service
// rules exactly as the Pod's own would. One HTTP GET at a time, each on a new
// connection (a new conntrack entry, so a new DNAT choice), a short gap
// between them; for each, one line on stdout:
//   <sentMs> <doneMs> <answer>      answer = the body (the answering Pod's name), or ERR:<reason>
// Both times are Date.now() (CLOCK_REALTIME), which the bench process on the
// same machine reads too. A busybox `date` in the container has no %N, hence a
// process of ours rather than a shell loop of wget in the container.
//   --url http://CLUSTERIP/  --gap-ms N  --timeout-ms N
import http from 'node:http';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} must be given`);
  return v;
}

function get(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim().split(/\s+/)[0] || 'ERR:empty' : `ERR:http-${res.statusCode}`));
      res.on('error', (e) => resolve(`ERR:${(e as NodeJS.ErrnoException).code ?? 'response'}`));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e) => resolve(`ERR:${(e as NodeJS.ErrnoException).code ?? 'request'}`));
  });
}

async function main(): Promise<void> {
  const url = arg('url');
  const gapMs = Number(arg('gap-ms', '5'));
  const timeoutMs = Number(arg('timeout-ms', '1000'));
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
  });
  while (!stopping) {
    const sent = Date.now();
    const answer = await get(url, timeoutMs);
    process.stdout.write(`${sent} ${Date.now()} ${answer}\n`);
    await new Promise((r) => setTimeout(r, gapMs));
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
