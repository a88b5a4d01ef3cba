// The floor under the replication section's Bramble throughput: one grpc-js server
// over mutual TLS (the product's own PKI: ensureClusterPki's serving credentials and
// an issued admin client certificate), in its own process like a member, whose one
// unary method parses the ConfigMap JSON it is sent and answers a few bytes, driven
// by the same load generator as both stores. It is what any Node.js gRPC server and
// its client pay per call on this machine before anything is validated, stored or
// replicated, so the throughput and CPU figures beside it say how much of Bramble's
// cost per write is the call itself.
import * as grpc from '@grpc/grpc-js';
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { channelOptions } from '../control-plane/cli/cli-client.js';
import { clientCredentials } from '../control-plane/pki/client-config.js';
import { ensureClusterPki } from '../control-plane/pki/pki-ca.js';
import { ADMIN_COMMON_NAME, ADMIN_ORGANIZATION } from '../control-plane/pki/auth.js';
import { measureStore, type StoreRun } from './replication-throughput.js';
import { makeTempDir, readCpuSeconds, readWriteBytes, removeDir, stopChild } from './util.js';
import { smallConfigMap } from './write-load.js';

const identity = (b: Buffer): Buffer => b;
const SERVICE: grpc.ServiceDefinition = {
  Echo: {
    path: '/bramble.bench.Floor/Echo', requestStream: false, responseStream: false,
    requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
    originalName: 'Echo',
  },
};

/** What the serving child sends its parent once it listens: the port and a client's credentials. */
interface Listening {
  port: number;
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** The child: the PKI in a temporary data dir, the server on a free loopback port. */
async function serve(): Promise<void> {
  const dir = await makeTempDir('grpc-floor');
  const pki = await ensureClusterPki(dir);
  const client = await pki.issueClientCert(ADMIN_COMMON_NAME, ADMIN_ORGANIZATION);
  const server = new grpc.Server();
  server.addService(SERVICE, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const obj = JSON.parse(call.request.toString('utf8')) as { metadata: { name: string } };
      callback(null, Buffer.from(JSON.stringify({ name: obj.metadata.name }), 'utf8'));
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', pki.serverCredentials(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  const listening: Listening = { port, caPem: pki.caPem, certPem: client.certPem, keyPem: client.keyPem };
  process.send?.(listening);
  process.once('SIGTERM', () => {
    server.forceShutdown();
    void removeDir(dir).finally(() => process.exit(0));
  });
}

async function startServer(): Promise<{ child: ChildProcess; listening: Listening }> {
  const child = fork(fileURLToPath(import.meta.url), ['serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const listening = await new Promise<Listening>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Listening));
      child.once('exit', (code, signal) => reject(new Error(`the gRPC floor server exited before it listened (${signal ?? code})`)));
    });
    return { child, listening };
  } catch (e) {
    await stopChild(child);
    throw e;
  }
}

/** The same ConfigMap as the Bramble run's Apply, through the bare server, with 64 clients. */
export async function measureGrpcFloor(writes: number, log: (m: string) => void): Promise<{ clients64: StoreRun }> {
  log('grpc floor: starting the server');
  const { child, listening } = await startServer();
  const Client = grpc.makeGenericClientConstructor(SERVICE, 'Floor');
  const address = `127.0.0.1:${listening.port}`;
  // As the CLI's connection does (client-config.ts clientCredentials): the CA pinned, no host name checked.
  const creds = clientCredentials({ server: address, ca: listening.caPem, key: listening.keyPem, cert: listening.certPem });
  const client = new Client(address, creds, channelOptions(address));
  const pid = child.pid!;
  try {
    // The generic client's method, looked up once: the load generator's own cost is measured.
    const call = (client as unknown as Record<string, (req: Buffer, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void>).Echo!.bind(client);
    const echo = (i: number): Promise<void> => new Promise((resolve, reject) => {
      call(Buffer.from(smallConfigMap(`floor-${i}`, i), 'utf8'), { deadline: new Date(Date.now() + 10_000) }, (e) => (e ? reject(e) : resolve()));
    });
    await echo(-1);
    log(`grpc floor: ${writes} calls, 64 clients`);
    const members = { writeBytes: async () => [await readWriteBytes(pid)], cpuSeconds: async () => [await readCpuSeconds(pid)] };
    const clients64 = await measureStore({ write: echo }, members, 64, writes, 0);
    return { clients64 };
  } finally {
    client.close();
    await stopChild(child);
  }
}

if (process.argv[2] === 'serve' && process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  serve().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
