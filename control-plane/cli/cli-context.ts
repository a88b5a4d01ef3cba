// What every CLI command gets: its standard streams, the environment, a clock
// for ages, and how to reach the server. Injected so commands run in tests
// without a terminal.
import { realClock, type Clock } from '../../proto/util/clock.js';
import { DEFAULT_NAMESPACE, KINDS, resolveKind, type KindInfo } from '../../proto/model.js';
import type { ConnectOptions } from './cli-client.js';
import { UsageError } from './cli-errors.js';

export interface TextSink {
  /** Bytes too: `bramble logs` passes container output through unchanged. */
  write(text: string | Uint8Array): unknown;
}

export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  clock: Clock;
}

export interface CommandContext {
  io: CliIo;
  /** Where the client config comes from (--config, $BRAMBLE_CONFIG, ...). */
  connect: ConnectOptions;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, clock: realClock };
}

function kindList(): string {
  return KINDS.map((k) => `${k.plural} (${[k.kind.toLowerCase(), ...k.aliases.filter((a) => a !== k.kind.toLowerCase())].join(', ')})`).join(', ');
}

/** Resolves what a person typed ("po", "deploy", "Deployment") or fails as a usage error listing the kinds. */
export function requireKind(text: string): KindInfo {
  const info = resolveKind(text);
  if (!info) throw new UsageError(`unknown kind "${text}": known kinds are ${kindList()}`);
  return info;
}

/** Accepts both `KIND NAME` and kubectl's `KIND/NAME`. */
export function splitKindName(kindArg: string, nameArg: string | undefined): { kind: KindInfo; name: string | undefined } {
  const slash = kindArg.indexOf('/');
  if (slash < 0) return { kind: requireKind(kindArg), name: nameArg };
  if (nameArg !== undefined) throw new UsageError(`give either KIND/NAME or KIND NAME, not both: "${kindArg}" "${nameArg}"`);
  const name = kindArg.slice(slash + 1);
  if (name === '') throw new UsageError(`"${kindArg}" names no object: use KIND/NAME`);
  return { kind: requireKind(kindArg.slice(0, slash)), name };
}

/** The namespace a request uses: '' for cluster-scoped kinds. */
export function namespaceFor(kind: KindInfo, namespace: string | undefined): string {
  return kind.namespaced ? namespace ?? DEFAULT_NAMESPACE : '';
}

// Commander hands options over untyped; these read them with the type the table declared.
export type RawOptions = Record<string, unknown>;

export function optString(opts: RawOptions, name: string): string | undefined {
  const v = opts[name];
  return typeof v === 'string' ? v : undefined;
}

export function optBool(opts: RawOptions, name: string): boolean {
  return opts[name] === true;
}

export function optStrings(opts: RawOptions, name: string): string[] {
  const v = opts[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

export function argString(args: unknown[], index: number): string | undefined {
  const v = args[index];
  return typeof v === 'string' ? v : undefined;
}

export function argStrings(args: unknown[], index: number): string[] {
  const v = args[index];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}
