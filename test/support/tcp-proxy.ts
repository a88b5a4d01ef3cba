// A fault-injecting TCP proxy for fault tests on loopback: it listens on its own
// port and pipes every connection to a target port. `cut()` resets every open
// connection and resets new ones as they arrive (a peer sees the link drop, as when
// a cable is pulled and the kernel gives up), until `heal()`. Replicas advertise
// the proxy's address, so the traffic between them goes through it and a test can
// partition one member while its clients still reach its real port.
import net from 'node:net';

export interface TcpProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  readonly isCut: boolean;
  /** Connections piped so far (a test that cuts a link nobody uses proves nothing). */
  readonly accepted: number;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(opts: { port: number; targetPort: number; host?: string }): Promise<TcpProxy> {
  const host = opts.host ?? '127.0.0.1';
  const open = new Set<net.Socket>();
  let cut = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    if (cut) {
      client.resetAndDestroy();
      return;
    }
    accepted++;
    const upstream = net.connect({ host, port: opts.targetPort });
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      open.delete(client);
      open.delete(upstream);
      if (!client.destroyed) client.destroy();
      if (!upstream.destroyed) upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  const resetAll = (): void => {
    for (const s of [...open]) {
      open.delete(s);
      // A reset, not a FIN: the peer must not mistake a cut for an orderly close.
      if (!s.destroyed) s.resetAndDestroy();
    }
  };
  return {
    port: opts.port,
    get isCut() {
      return cut;
    },
    get accepted() {
      return accepted;
    },
    cut: () => {
      cut = true;
      resetAll();
    },
    heal: () => {
      cut = false;
    },
    close: async () => {
      cut = true;
      resetAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
