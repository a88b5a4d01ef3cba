// The table of `bramble` subcommands: name, arguments, options, and the action
// that turns commander's parsed values into a typed call. main.ts builds the
// commander program from this table; a new subcommand is one more entry.
import { KINDS } from '../proto/model.js';
import { runApply } from './cli-apply.js';
import { argString, argStrings, optBool, optString, optStrings, type CommandContext, type RawOptions } from './cli-context.js';
import { runDelete } from './cli-delete.js';
import { runDescribe } from './cli-describe.js';
import { runGet } from './cli-get.js';
import { OUTPUT_FORMATS, type OutputFormat } from './cli-print.js';
import { DEFAULT_GRPC_ADDR, DEFAULT_HTTP_ADDR, runServer } from './cli-server.js';
import { runVersion } from './cli-version.js';

export interface ArgumentSpec {
  /** Commander syntax: "<kind>", "[name]", "[names...]". */
  name: string;
  description: string;
}

export interface OptionSpec {
  /** Commander syntax: "-n, --namespace <ns>". */
  flags: string;
  description: string;
  defaultValue?: string | boolean;
  choices?: readonly string[];
  /** May be given several times; values collect into an array. */
  repeatable?: boolean;
}

export interface CommandSpec {
  name: string;
  description: string;
  arguments: ArgumentSpec[];
  options: OptionSpec[];
  /** Long-running: the process stays up after the action returns. */
  daemon?: boolean;
  /** Returns the exit code; throws BrambleError or UsageError on failure. */
  action(ctx: CommandContext, args: unknown[], opts: RawOptions): Promise<number>;
}

const NAMESPACE: OptionSpec = { flags: '-n, --namespace <namespace>', description: 'namespace of the object (default "default")' };
const FILENAME: OptionSpec = {
  flags: '-f, --filename <path>',
  description: 'manifest file, directory of *.yaml/*.yml/*.json, or - for stdin (repeatable)',
  repeatable: true,
};
const KIND_HELP = `kind of object: ${KINDS.map((k) => k.plural).join(', ')} (or a short name such as po, deploy, svc, cm, ns)`;

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'server',
    description: 'run the control plane (gRPC API, store, controllers, HTTP health and metrics)',
    arguments: [],
    options: [
      { flags: '--data-dir <dir>', description: 'where the store, TLS files and admin.conf live (default /var/lib/bramble as root, ~/.bramble otherwise)' },
      { flags: '--grpc-addr <host:port>', description: 'address of the gRPC API', defaultValue: DEFAULT_GRPC_ADDR },
      { flags: '--http-addr <host:port>', description: 'address of /healthz, /readyz and /metrics', defaultValue: DEFAULT_HTTP_ADDR },
      { flags: '--tls-san <name>', description: 'extra DNS name or IP for the serving certificate (repeatable)', repeatable: true },
    ],
    daemon: true,
    action: (ctx, _args, o) =>
      runServer(ctx, {
        dataDir: optString(o, 'dataDir'),
        grpcAddr: optString(o, 'grpcAddr') ?? DEFAULT_GRPC_ADDR,
        httpAddr: optString(o, 'httpAddr') ?? DEFAULT_HTTP_ADDR,
        tlsSans: optStrings(o, 'tlsSan'),
      }),
  },
  {
    name: 'apply',
    description: 'create or update the objects of manifests, all or nothing',
    arguments: [],
    options: [FILENAME, { flags: '--dry-run', description: 'validate and report what would change without writing' }],
    action: (ctx, _args, o) => runApply(ctx, { files: optStrings(o, 'filename'), dryRun: optBool(o, 'dryRun') }),
  },
  {
    name: 'get',
    description: 'list objects of a kind, or show one',
    arguments: [
      { name: '<kind>', description: KIND_HELP },
      { name: '[name]', description: 'name of one object' },
    ],
    options: [
      NAMESPACE,
      { flags: '-A, --all-namespaces', description: 'list objects of every namespace' },
      { flags: '-l, --selector <selector>', description: 'label selector, e.g. "app=web,tier!=db"' },
      { flags: '-o, --output <format>', description: 'output format', choices: OUTPUT_FORMATS },
    ],
    action: (ctx, a, o) =>
      runGet(ctx, {
        kind: argString(a, 0) ?? '',
        name: argString(a, 1),
        namespace: optString(o, 'namespace'),
        allNamespaces: optBool(o, 'allNamespaces'),
        selector: optString(o, 'selector'),
        output: (optString(o, 'output') ?? 'table') as OutputFormat,
      }),
  },
  {
    name: 'delete',
    description: 'delete the objects of manifests, or objects by kind and name',
    arguments: [
      { name: '[kind]', description: KIND_HELP },
      { name: '[names...]', description: 'names of the objects' },
    ],
    options: [FILENAME, NAMESPACE, { flags: '--ignore-not-found', description: 'succeed when an object does not exist' }],
    action: (ctx, a, o) =>
      runDelete(ctx, {
        files: optStrings(o, 'filename'),
        kind: argString(a, 0),
        names: argStrings(a, 1),
        namespace: optString(o, 'namespace'),
        ignoreNotFound: optBool(o, 'ignoreNotFound'),
      }),
  },
  {
    name: 'describe',
    description: 'show one object in detail (Secret values are shown as sizes only)',
    arguments: [
      { name: '<kind>', description: KIND_HELP },
      { name: '[name]', description: 'name of the object' },
    ],
    options: [NAMESPACE],
    action: (ctx, a, o) => runDescribe(ctx, { kind: argString(a, 0) ?? '', name: argString(a, 1), namespace: optString(o, 'namespace') }),
  },
  {
    name: 'version',
    description: 'print the client and server versions',
    arguments: [],
    options: [{ flags: '-o, --output <format>', description: 'output format', choices: ['json'] }],
    action: (ctx, _args, o) => runVersion(ctx, { output: optString(o, 'output') === 'json' ? 'json' : undefined }),
  },
];
