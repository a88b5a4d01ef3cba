// `bramble version`: the client's version always, the server's when it answers.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VersionResponse__Output } from '../../proto/generated/bramble/v1/VersionResponse.js';
import { withCluster } from './cli-client.js';
import type { CommandContext } from './cli-context.js';
import { reportError } from './cli-errors.js';

export interface VersionInput {
  output?: 'json';
}

let cachedVersion: string | undefined;

/** The version in package.json, found upwards from this file (source tree or dist/). */
export function clientVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'bramble' && typeof pkg.version === 'string') return (cachedVersion = pkg.version);
    } catch {
      // No package.json here: keep climbing.
    }
    const parent = path.dirname(dir);
    if (parent === dir) return (cachedVersion = 'unknown');
    dir = parent;
  }
}

function serverLine(v: VersionResponse__Output): string {
  const extras = [v.gitCommit ? `commit ${v.gitCommit}` : '', `store revision ${v.revision}`, v.nodeName ? `node ${v.nodeName}` : '']
    .filter((s) => s !== '')
    .join(', ');
  return `Server Version: ${v.version} (${extras})\n`;
}

export async function runVersion(ctx: CommandContext, input: VersionInput): Promise<number> {
  const client = clientVersion();
  let server: VersionResponse__Output | undefined;
  let failure: unknown;
  try {
    server = await withCluster(ctx.connect, (conn) => conn.version());
  } catch (e) {
    failure = e;
  }
  if (input.output === 'json') {
    const doc = {
      clientVersion: { version: client },
      ...(server && {
        serverVersion: {
          version: server.version,
          gitCommit: server.gitCommit,
          revision: server.revision,
          objectCount: server.objectCount,
          nodeName: server.nodeName,
        },
      }),
    };
    ctx.io.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  } else {
    ctx.io.stdout.write(`Client Version: ${client}\n`);
    if (server) ctx.io.stdout.write(serverLine(server));
  }
  return failure === undefined ? 0 : reportError(failure, ctx.io.stderr);
}
