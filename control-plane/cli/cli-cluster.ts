// `bramble cluster status|remove`: the control-plane members. `status` prints one
// row per member with its role, term, commit and applied index, lag and last
// contact (the leader's view where it has one); `-o json` gives
// {"members": [{"name", "role", "term", "commitIndex", "appliedIndex", ...}]}.
import { stringify as toYaml } from 'yaml';
import type { ClusterStatusResponse__Output } from '../../proto/generated/bramble/v1/ClusterStatusResponse.js';
import type { MemberState__Output } from '../../proto/generated/bramble/v1/MemberState.js';
import { findClientConfigPath } from '../pki/client-config.js';
import { withCluster } from './cli-client.js';
import { learnedNotice, writeLearnedServers } from './cli-learn-members.js';
import type { CommandContext } from './cli-context.js';
import { UsageError } from './cli-errors.js';
import { humanDuration, renderTable, type Printed } from './cli-print.js';

export const CLUSTER_OUTPUT_FORMATS = ['json', 'yaml'] as const;
export type ClusterOutput = 'table' | (typeof CLUSTER_OUTPUT_FORMATS)[number];

/** What scripts get: the proto fields, with empty strings left out. */
function member(m: MemberState__Output): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: m.name, address: m.address, role: m.role, term: m.term, commitIndex: m.commitIndex, appliedIndex: m.appliedIndex, lag: m.lag,
  };
  if (m.lastContact) out.lastContact = m.lastContact;
  if (m.error) out.error = m.error;
  return out;
}

function lastContactText(m: MemberState__Output, leader: string, now: number): string {
  if (m.name === leader) return '-';
  const at = Date.parse(m.lastContact);
  return Number.isNaN(at) ? '<unknown>' : `${humanDuration(Math.max(0, now - at))} ago`;
}

export function printClusterStatus(res: ClusterStatusResponse__Output, output: ClusterOutput, now: number): Printed {
  const doc = { leader: res.leader, members: res.members.map(member) };
  if (output === 'json') return { stdout: JSON.stringify(doc, null, 2) + '\n', stderr: '' };
  if (output === 'yaml') return { stdout: toYaml(doc), stderr: '' };
  const rows = [
    ['NAME', 'ADDRESS', 'ROLE', 'TERM', 'COMMIT', 'APPLIED', 'LAG', 'LAST CONTACT'],
    ...res.members.map((m) => m.error
      ? [m.name, m.address, m.role || '<unknown>', '-', '-', '-', '-', `error: ${m.error}`]
      : [m.name, m.address, m.role, String(m.term), String(m.commitIndex), String(m.appliedIndex), String(m.lag), lastContactText(m, res.leader, now)]),
  ];
  const stderr = res.leader ? '' : 'No leader: the members are electing one, or too few of them can reach each other.\n';
  return { stdout: renderTable(rows), stderr };
}

/** The addresses to learn from a status, or none from a single server: it reports the address it listens on (often loopback). */
export function statusAddresses(members: readonly { address: string; role: string }[]): string[] {
  return members.some((m) => m.role === 'standalone') ? [] : members.map((m) => m.address);
}

/** Writes the members into the client config the CLI used, so a copied admin.conf follows membership changes. */
async function learnMembers(ctx: CommandContext, res: ClusterStatusResponse__Output): Promise<void> {
  // --server pins one member for this call: its answer says nothing about the config's list.
  if (ctx.connect.server !== undefined) return;
  const addresses = statusAddresses(res.members);
  if (addresses.length === 0) return;
  try {
    const file = findClientConfigPath(ctx.connect.configPath, ctx.connect.env ?? ctx.io.env);
    const servers = await writeLearnedServers(file, addresses);
    if (servers !== undefined) ctx.io.stderr.write(learnedNotice(file, servers));
  } catch (e) {
    ctx.io.stderr.write(`the client config could not be updated with the members' addresses: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

export async function runClusterStatus(ctx: CommandContext, input: { output: ClusterOutput }): Promise<number> {
  const res = await withCluster(ctx.connect, (conn) => conn.clusterStatus());
  const printed = printClusterStatus(res, input.output, ctx.io.clock.now());
  if (printed.stdout) ctx.io.stdout.write(printed.stdout);
  if (printed.stderr) ctx.io.stderr.write(printed.stderr);
  await learnMembers(ctx, res);
  return 0;
}

export async function runClusterRemove(ctx: CommandContext, input: { name: string }): Promise<number> {
  if (input.name === '') throw new UsageError('cluster remove needs the NAME of the member to remove (as `bramble cluster status` shows it)');
  const res = await withCluster(ctx.connect, (conn) => conn.removeMember({ name: input.name }));
  ctx.io.stdout.write(`member "${input.name}" removed; members now: ${res.members.map((m) => m.name).join(', ')}\n`);
  return 0;
}
