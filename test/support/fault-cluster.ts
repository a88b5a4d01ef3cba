// A replicated control plane of real `bramble server` processes on loopback for
// fault tests, each member behind a TCP proxy (tcp-proxy.ts) that it advertises
// to the others: Raft messages and forwarded writes between members go through
// the proxies, which a nemesis can cut, while test clients reach each member's
// real port. Faults by process: SIGKILL, SIGSTOP/SIGCONT, SIGTERM and restart.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { openCluster, type ClusterConnection } from '../../control-plane/cli/cli-client.js';
import { readClientConfig } from '../../control-plane/pki/client-config.js';
import { freePort, startServerProcess, type ServerProcess } from './server-process.js';
import { socketOwner } from './socket-owner.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

export interface FaultMember {
  readonly name: string;
  readonly server: ServerProcess;
  readonly proxy: TcpProxy;
  /** 127.0.0.1:<real gRPC port>, where clients connect. */
  readonly address: string;
  paused: boolean;
}

export interface MemberRow { name: string; role: string; appliedIndex: number; address: string; error: string }
export interface StatusView { leader: string; members: MemberRow[] }

export class FaultCluster {
  readonly members = new Map<string, FaultMember>();
  private readonly connections: ClusterConnection[] = [];
  /** The first member's join token: later members join with it. */
  private tokenFile = '';

  /** Starts `names[0]` with --cluster-init and joins the others to it, one at a time. */
  static async start(names: readonly string[]): Promise<FaultCluster> {
    const c = new FaultCluster();
    try {
      for (const name of names) await c.add(name);
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  /** Starts one member: the first with --cluster-init, later ones with --join through a member that runs. */
  async add(name: string): Promise<FaultMember> {
    const grpcPort = await freePort();
    let proxyPort = await freePort();
    while (proxyPort === grpcPort) proxyPort = await freePort();
    const proxy = await startTcpProxy({ port: proxyPort, targetPort: grpcPort, originOf: (remotePort) => this.originOf(remotePort, proxyPort) });
    const via = [...this.members.values()].find((m) => !m.paused && m.server.exit() === undefined);
    const join = via
      ? ['--join', via.address, '--token-file', existsSync(path.join(via.server.dataDir, 'token')) ? path.join(via.server.dataDir, 'token') : this.tokenFile]
      : ['--cluster-init'];
    let server: ServerProcess;
    try {
      server = await startServerProcess({
        grpcPort,
        extraArgs: [...join, '--node-name', name, '--advertise-address', `127.0.0.1:${proxyPort}`],
        env: { ...process.env, BRAMBLE_LOG_LEVEL: 'info' },
      });
    } catch (e) {
      await proxy.close();
      throw e;
    }
    const m: FaultMember = { name, server, proxy, address: `127.0.0.1:${grpcPort}`, paused: false };
    if (!via) this.tokenFile = path.join(server.dataDir, 'token');
    this.members.set(name, m);
    return m;
  }

  /** The member whose process opened the connection from `remotePort` to a proxy. */
  private originOf(remotePort: number, proxyPort: number): string | undefined {
    const byPid = new Map<number, string>();
    for (const m of this.members.values()) if (m.server.pid !== undefined) byPid.set(m.server.pid, m.name);
    const pid = socketOwner(remotePort, proxyPort, [...byPid.keys()]);
    return pid === undefined ? undefined : byPid.get(pid);
  }

  member(name: string): FaultMember {
    const m = this.members.get(name);
    if (!m) throw new Error(`no member named ${name}: members are ${[...this.members.keys()].join(', ')}`);
    return m;
  }

  /** A client talking to this member only (no failover: one attempt per recorded operation). */
  async connect(name: string, deadlineMs = 4000): Promise<ClusterConnection> {
    const m = this.member(name);
    const cfg = await readClientConfig(m.server.configPath);
    const conn = openCluster(cfg, { configPath: m.server.configPath, server: m.address, deadlineMs });
    this.connections.push(conn);
    return conn;
  }

  async status(via: string): Promise<StatusView> {
    const conn = await this.connect(via, 3000);
    try {
      const s = await conn.clusterStatus();
      return { leader: s.leader, members: s.members.map((r) => ({ name: r.name, role: r.role, appliedIndex: Number(r.appliedIndex), address: r.address, error: r.error })) };
    } finally {
      conn.close();
      this.connections.splice(this.connections.indexOf(conn), 1);
    }
  }

  /** Members that run and are not paused. */
  up(): string[] {
    return [...this.members.values()].filter((m) => !m.paused && m.server.exit() === undefined).map((m) => m.name);
  }

  /**
   * Waits until every running member names the same leader, one of them, and reports
   * every member of the configuration a healthy voter at one applied index (when `converged`).
   */
  async waitHealthy(opts: { timeoutMs?: number; converged?: boolean } = {}): Promise<StatusView> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    let last = 'no answer yet';
    for (;;) {
      try {
        const up = this.up();
        const views = await Promise.all(up.map((n) => this.status(n)));
        const leaders = new Set(views.map((v) => v.leader));
        const leader = views[0]!.leader;
        const view = views.find((v) => v.members.some((r) => r.name === v.leader && r.role === 'leader')) ?? views[0]!;
        if (leaders.size !== 1 || leader === '' || !up.includes(leader)) last = `leaders seen: ${JSON.stringify([...leaders])}`;
        // A learner does not vote: a fault that starts before its promotion may leave no quorum.
        else if (opts.converged && !view.members.every((r) => !r.error && r.appliedIndex === view.members[0]!.appliedIndex && (r.role === 'leader' || r.role === 'follower'))) {
          last = `members not converged: ${JSON.stringify(view.members)}`;
        } else return view;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      if (Date.now() > deadline) throw new Error(`the cluster was not healthy within ${opts.timeoutMs ?? 30_000} ms: ${last}`);
      await delay(200);
    }
  }

  async leader(timeoutMs = 30_000): Promise<string> {
    return (await this.waitHealthy({ timeoutMs })).leader;
  }

  pause(name: string): void {
    const m = this.member(name);
    if (m.server.pid === undefined) throw new Error(`${name} has no process to pause`);
    process.kill(m.server.pid, 'SIGSTOP');
    m.paused = true;
  }

  resume(name: string): void {
    const m = this.member(name);
    if (m.server.pid !== undefined && m.server.exit() === undefined) process.kill(m.server.pid, 'SIGCONT');
    m.paused = false;
  }

  /**
   * Cuts this member off from the others both ways (its clients still reach it):
   * its own proxy refuses everyone, the others' proxies refuse it. `inboundOnly`
   * leaves its links to the others up: it hears nothing and can still talk.
   */
  partition(name: string, opts: { inboundOnly?: boolean } = {}): void {
    this.member(name).proxy.cut();
    if (opts.inboundOnly) return;
    for (const m of this.members.values()) if (m.name !== name) m.proxy.block(name);
  }

  heal(name?: string): void {
    for (const m of name ? [this.member(name)] : this.members.values()) m.proxy.heal();
    for (const m of this.members.values()) {
      for (const other of name ? [name] : [...this.members.keys()]) m.proxy.unblock(other);
    }
  }

  /** Connections the proxy in front of `to` has piped so far. */
  accepted(to: string): number {
    return this.member(to).proxy.accepted;
  }

  /** Stops a member for good and forgets it (after `bramble cluster remove`). */
  async retire(name: string): Promise<void> {
    const m = this.member(name);
    this.resume(name);
    await m.server.close();
    await m.proxy.close();
    this.members.delete(name);
  }

  /** Every process and proxy ends, whatever state the test left them in. */
  async close(): Promise<void> {
    for (const conn of this.connections.splice(0)) conn.close();
    await Promise.all([...this.members.values()].map(async (m) => {
      // A stopped process cannot handle SIGTERM: wake it first so stop() is quick.
      if (m.paused) this.resume(m.name);
      await m.server.close().catch(() => undefined);
      await m.proxy.close().catch(() => undefined);
    }));
    this.members.clear();
  }
}
