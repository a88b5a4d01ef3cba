// `bramble agent`: the command's side. The agent's own entry point
// (agent/main.ts) checks the flags and wires the board; this adds what only
// the CLI knows (its version, its standard streams).
import type { AgentInput } from '../../agent/main.js';
import type { CommandContext } from './cli-context.js';
import { clientVersion } from './cli-version.js';

export {
  checkHostPort, checkNodeName, closeOnSignals, containerdSocketPath, containerdUnreachable, DEFAULT_CONTAINERD_ADDRESS,
  explainAgentStartError, parseLabels, probeContainerd, resolveToken, type AgentInput,
} from '../../agent/main.js';

export async function runAgent(ctx: CommandContext, input: AgentInput): Promise<number> {
  const { runAgent: run } = await import('../../agent/main.js');
  return run(ctx.io, input, clientVersion());
}
