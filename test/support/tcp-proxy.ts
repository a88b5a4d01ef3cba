// A fault-injecting TCP proxy for fault tests on loopback: it listens on its own
// port and pipes every connection to a target port. `cut()` resets every open
// connection and resets new ones as they arrive (a peer sees the link drop, as when
// a cable is pulled and the kernel gives up), until `heal()`. Replicas advertise
// the proxy's address, so the traffic between them goes through it and a test can
// partition one member while its clients still reach its real port. With
// `originOf`, the proxy also tells which process opened a connection, so a test
// can refuse the traffic of one member only (`block`): the way to cut the link
// from a member to the others, whose ports it reaches through their proxies.
import net from 'node:net';

export interface TcpProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  readonly isCut: boolean;
  /** Connections piped so far (a test that cuts a link nobody uses proves nothing). */
  readonly accepted: number;
  cut(): void;
  heal(): void;
  /** Resets the connections `originOf` says come from `origin`, and refuses new ones, until `unblock`. */
  block(origin: string): void;
  unblock(origin: string): void;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  port: number;
  targetPort: number;
  host?: string;
  /** Who opened the connection whose far end is this local port (a process name), if known. */
  originOf?: (remotePort: number) => string | undefined;
}

export async function startTcpProxy(opts: TcpProxyOptions): Promise<TcpProxy> {
  const host = opts.host ?? '127.0.0.1';
  /** Each open socket, with the origin of its connection. */
  const open = new Map<net.Socket, string | undefined>();
  const blocked = new Set<string>();
  let cut = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    const origin = client.remotePort !== undefined ? opts.originOf?.(client.remotePort) : undefined;
    if (cut || (origin !== undefined && blocked.has(origin))) {
      client.resetAndDestroy();
      return;
    }
    accepted++;
    const upstream = net.connect({ host, port: opts.targetPort });
    open.set(client, origin);
    open.set(upstream, origin);
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
  const resetAll = (only?: string): void => {
    for (const [s, origin] of [...open]) {
      if (only !== undefined && origin !== only) continue;
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
    block: (origin) => {
      blocked.add(origin);
      resetAll(origin);
    },
    unblock: (origin) => {
      blocked.delete(origin);
    },
    close: async () => {
      cut = true;
      resetAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
