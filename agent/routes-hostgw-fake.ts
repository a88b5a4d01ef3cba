// An in-memory RouteTable for unit tests: a main table with our routes and
// others', the board's connected subnets, and a record of every change.
import { ROUTE_PROTO, type ConnectedSubnet, type HostGwRoute, type RouteEntry, type RouteTable } from './routes-hostgw.js';

export class FakeRouteTable implements RouteTable {
  table: RouteEntry[] = [];
  forwarding = false;
  readonly changes: string[] = [];

  constructor(public subnets: ConnectedSubnet[] = [{ cidr: '192.168.1.0/24', dev: 'eth0' }]) {}

  async routes(): Promise<RouteEntry[]> {
    return this.table.map((r) => ({ ...r }));
  }

  async connected(): Promise<ConnectedSubnet[]> {
    return this.subnets.map((s) => ({ ...s }));
  }

  async replace(r: HostGwRoute): Promise<void> {
    this.changes.push(`replace ${r.dst} via ${r.via} dev ${r.dev}`);
    // As the kernel: replace takes the place of any route to that destination, whoever made it.
    this.table = [...this.table.filter((x) => x.dst !== r.dst), { ...r, proto: String(ROUTE_PROTO) }];
  }

  async remove(r: { dst: string }): Promise<void> {
    this.changes.push(`remove ${r.dst}`);
    this.table = this.table.filter((x) => !(x.dst === r.dst && x.proto === String(ROUTE_PROTO)));
  }

  async enableForwarding(): Promise<void> {
    this.forwarding = true;
  }
}
