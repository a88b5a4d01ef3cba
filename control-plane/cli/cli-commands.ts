// The table of `bramble` subcommands: name, arguments, options, and the action
// that turns commander's parsed values into a typed call. main.ts builds the
// commander program from this table; a new subcommand is one more entry.
import { DEFAULT_NAMESPACE, KINDS } from '../../proto/model.js';
import { DEFAULT_CONTAINERD_ADDRESS, runAgent } from './cli-agent.js';
import { runApply } from './cli-apply.js';
import { CHECK_OUTPUT_FORMATS, runCheck, type CheckOutput } from './cli-check.js';
import { CERTIFICATE_OUTPUT_FORMATS, runCertificateStatus, type CertificateOutput } from './cli-certificate.js';
import { DEFAULT_CA_OVERLAP_DAYS, runCertificateRotateCa } from './cli-certificate-rotate.js';
import { runCreateJob } from './cli-create-job.js';
import { CLUSTER_OUTPUT_FORMATS, runClusterRemove, runClusterStatus, type ClusterOutput } from './cli-cluster.js';
import { argString, argStrings, optBool, optString, optStrings, type CommandContext, type RawOptions } from './cli-context.js';
import { runDelete } from './cli-delete.js';
import { runCordon, runDrain } from './cli-drain.js';
import { runDescribe } from './cli-describe.js';
import { runGet } from './cli-get.js';
import { runExec } from './cli-exec.js';
import { runImageImport } from './cli-image.js';
import { interruptSignal, runLogs } from './cli-logs.js';
import { OUTPUT_FORMATS, type OutputFormat } from './cli-print.js';
import { runRolloutHistory, runRolloutPause, runRolloutRestart, runRolloutStatus, runRolloutUndo } from './cli-rollout.js';
import { runScale } from './cli-scale.js';
import { runSecretsEncryptionRotate, runSecretsEncryptionStatus, SECRETS_ENCRYPTION_OUTPUT_FORMATS, type SecretsEncryptionOutput } from './cli-secrets-encryption.js';
import { runSetImage } from './cli-set-image.js';
import { runSnapshotRestore, runSnapshotSave } from './cli-store-snapshot.js';
import { CONTROLLER_NAMES, DEFAULT_CLUSTER_CIDR, DEFAULT_GRPC_ADDR, DEFAULT_HTTP_ADDR, DEFAULT_RAFT_ELECTION_TIMEOUT, DEFAULT_RAFT_HEARTBEAT_INTERVAL, DEFAULT_SERVICE_CIDR, runServer } from './cli-server.js';
import { DEFAULT_TOKEN_TTL, runTokenCreate, runTokenDelete, runTokenList, TOKEN_OUTPUT_FORMATS, type TokenOutput } from './cli-token.js';
import { runTop, TOP_OUTPUT_FORMATS, type TopOutput } from './cli-top.js';
import { runVersion } from './cli-version.js';
import { DEFAULT_SNAPSHOT_RETENTION, DEFAULT_SNAPSHOT_SCHEDULE, NO_SNAPSHOTS } from './cli-server-snapshots.js';
import { DEFAULT_NOT_READY_TOLERATION_SECONDS, DEFAULT_UNREACHABLE_TOLERATION_SECONDS } from '../controllers/taint-tolerations.js';

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
  /** Other names, e.g. "no" for "nodes". */
  aliases?: string[];
  description: string;
  arguments: ArgumentSpec[];
  options: OptionSpec[];
  /** Long-running: the process stays up after the action returns. */
  daemon?: boolean;
  /** Returns the exit code; throws BrambleError or UsageError on failure. */
  action(ctx: CommandContext, args: unknown[], opts: RawOptions): Promise<number>;
}

/** A command that only groups subcommands: `bramble token create`, `bramble store snapshot save`. */
export interface CommandGroupSpec {
  name: string;
  description: string;
  subcommands: CommandEntry[];
}

export type CommandEntry = CommandSpec | CommandGroupSpec;

export function isCommandGroup(entry: CommandEntry): entry is CommandGroupSpec {
  return 'subcommands' in entry;
}

const NAMESPACE: OptionSpec = { flags: '-n, --namespace <namespace>', description: `namespace of the object (default "${DEFAULT_NAMESPACE}")` };
const FILENAME: OptionSpec = {
  flags: '-f, --filename <path>',
  description: 'manifest file, directory of *.yaml/*.yml/*.json, or - for stdin (repeatable)',
  repeatable: true,
};
const KIND_HELP = `kind of object: ${KINDS.map((k) => k.plural).join(', ')} (or a short name such as po, deploy, svc, cm, ns)`;

const WORKLOAD_KIND: ArgumentSpec = { name: '<kind>', description: 'deploy/NAME or ds/NAME (or a kind, with the name as the next argument)' };
const WORKLOAD_NAME: ArgumentSpec = { name: '[name]', description: 'name of the object, when not given as KIND/NAME' };

/** `rollout history|undo|restart|pause|resume` read the same object argument. */
function rolloutCommand(name: string, description: string, kinds: string, options: OptionSpec[], run: CommandSpec['action']): CommandSpec {
  return {
    name,
    description,
    arguments: [{ name: '<kind>', description: `${kinds} (deploy/NAME${kinds.includes('daemon') ? ', ds/NAME' : ''}), or a kind with the name as the next argument` }, WORKLOAD_NAME],
    options: [NAMESPACE, ...options],
    action: run,
  };
}

const rolloutTarget = (a: unknown[], o: Record<string, unknown>) => ({ kind: argString(a, 0) ?? '', name: argString(a, 1), namespace: optString(o, 'namespace') });

const NODE_NAME_HELP = 'name of this node (default: the host name in lower case)';
const IGNORE_CHECK: OptionSpec = {
  flags: '--ignore-check <name>',
  description: 'start even though this preflight check (`bramble check`\'s CHECK column, e.g. clock; "all" for every one) has a fatal finding; it is logged as a warning (repeatable)',
  repeatable: true,
};
const CONTAINERD: OptionSpec = { flags: '--containerd-address <sock>', description: 'containerd socket', defaultValue: DEFAULT_CONTAINERD_ADDRESS };

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'server',
    description: 'run the control plane (gRPC API, store, controllers, HTTP health and metrics) and an agent for this machine',
    arguments: [],
    options: [
      { flags: '--data-dir <dir>', description: 'where the store, TLS files, Secrets encryption keys (cred/), admin.conf and token live (default /var/lib/bramble as root, ~/.bramble otherwise)' },
      { flags: '--grpc-addr <host:port>', description: 'address of the gRPC API', defaultValue: DEFAULT_GRPC_ADDR },
      { flags: '--http-addr <host:port>', description: 'address of /healthz, /readyz and /metrics', defaultValue: DEFAULT_HTTP_ADDR },
      { flags: '--tls-san <name>', description: 'extra DNS name or IP for the serving certificate (repeatable)', repeatable: true },
      { flags: '--cluster-cidr <cidr>', description: 'pod address range; each node gets a /24 of it', defaultValue: DEFAULT_CLUSTER_CIDR },
      { flags: '--service-cidr <cidr>', description: 'Service cluster IP range', defaultValue: DEFAULT_SERVICE_CIDR },
      { flags: '--disable-agent', description: 'run the control plane alone: no local agent, no containerd needed' },
      { flags: '--controllers <list>', description: `controllers to run, as kube-controller-manager reads it: * for all, NAME to add, -NAME to leave out (${CONTROLLER_NAMES.join(', ')})`, defaultValue: '*' },
      { flags: '--node-monitor-grace-period <duration>', description: 'how long a node may go without a heartbeat before it is marked Ready=Unknown and tainted node.kubernetes.io/unreachable:NoExecute', defaultValue: '40s' },
      { flags: '--default-not-ready-toleration-seconds <n>', description: 'seconds a Pod without a toleration of its own for node.kubernetes.io/not-ready:NoExecute stays on such a node before it is evicted (0: at once)', defaultValue: String(DEFAULT_NOT_READY_TOLERATION_SECONDS) },
      { flags: '--default-unreachable-toleration-seconds <n>', description: 'seconds a Pod without a toleration of its own for node.kubernetes.io/unreachable:NoExecute stays on such a node before it is evicted (0: at once)', defaultValue: String(DEFAULT_UNREACHABLE_TOLERATION_SECONDS) },
      { flags: '--event-ttl <duration>', description: 'how long Events are kept after they last happened, e.g. 1h, 30m', defaultValue: '1h' },
      { flags: '--node-name <name>', description: `local agent: ${NODE_NAME_HELP}` },
      CONTAINERD,
      IGNORE_CHECK,
      { flags: '--snapshot-schedule <cron>', description: `when to write a snapshot of the store to --snapshot-dir: a 5-field cron schedule in this machine's time zone, or a macro such as @daily; "${NO_SNAPSHOTS}" for none (default "${DEFAULT_SNAPSHOT_SCHEDULE}", every 12 hours, as k3s)` },
      { flags: '--snapshot-retention <n>', description: `how many scheduled snapshots of this server to keep, the newest; older ones it wrote are deleted (default ${DEFAULT_SNAPSHOT_RETENTION})` },
      { flags: '--snapshot-dir <dir>', description: 'where scheduled snapshots go (default <data-dir>/snapshots)' },
      { flags: '--cluster-init', description: 'start a replicated control plane with this server as its first member (a data dir with a store keeps every object); others join it with --join' },
      { flags: '--join <host:port>', description: 'join the replicated control plane of the server at HOST:PORT as a new member (an empty --data-dir; needs the join token); a member restarts without it' },
      { flags: '--token <token>', description: 'with --join: the cluster\'s join token (`bramble token create` on a member). Visible to other users in `ps`: prefer --token-file or $BRAMBLE_TOKEN' },
      { flags: '--token-file <file>', description: 'with --join: read the join token from this file' },
      { flags: '--advertise-address <host:port>', description: 'where the other members reach this server\'s gRPC port (default: --grpc-addr when it names a host, else this machine\'s first LAN address)' },
      { flags: '--raft-heartbeat-interval <duration>', description: 'how often the leader reaches every member (whole tenths of a second)', defaultValue: DEFAULT_RAFT_HEARTBEAT_INTERVAL },
      { flags: '--raft-election-timeout <duration>', description: 'how long a member waits without hearing from a leader before it asks for votes; randomized up to twice this. Long enough for an SD card\'s slowest fsync and a Wi-Fi stall', defaultValue: DEFAULT_RAFT_ELECTION_TIMEOUT },
    ],
    daemon: true,
    action: (ctx, _args, o) =>
      runServer(ctx, {
        dataDir: optString(o, 'dataDir'),
        grpcAddr: optString(o, 'grpcAddr') ?? DEFAULT_GRPC_ADDR,
        httpAddr: optString(o, 'httpAddr') ?? DEFAULT_HTTP_ADDR,
        tlsSans: optStrings(o, 'tlsSan'),
        clusterCidr: optString(o, 'clusterCidr'),
        serviceCidr: optString(o, 'serviceCidr'),
        disableAgent: optBool(o, 'disableAgent'),
        controllers: optString(o, 'controllers'),
        nodeMonitorGracePeriod: optString(o, 'nodeMonitorGracePeriod'),
        defaultNotReadyTolerationSeconds: optString(o, 'defaultNotReadyTolerationSeconds'),
        defaultUnreachableTolerationSeconds: optString(o, 'defaultUnreachableTolerationSeconds'),
        eventTtl: optString(o, 'eventTtl'),
        nodeName: optString(o, 'nodeName'),
        containerdAddress: optString(o, 'containerdAddress'),
        ignoreChecks: optStrings(o, 'ignoreCheck'),
        snapshotSchedule: optString(o, 'snapshotSchedule'),
        snapshotRetention: optString(o, 'snapshotRetention'),
        snapshotDir: optString(o, 'snapshotDir'),
        clusterInit: optBool(o, 'clusterInit'),
        join: optString(o, 'join'),
        token: optString(o, 'token'),
        tokenFile: optString(o, 'tokenFile'),
        envToken: process.env.BRAMBLE_TOKEN,
        advertiseAddress: optString(o, 'advertiseAddress'),
        raftHeartbeatInterval: optString(o, 'raftHeartbeatInterval'),
        raftElectionTimeout: optString(o, 'raftElectionTimeout'),
      }),
  },
  {
    name: 'agent',
    description: 'run the agent of one board: join the cluster and run the pods it is given on containerd',
    arguments: [],
    options: [
      { flags: '--server <host:port>', description: 'gRPC address of the control plane (required); with several members give each (repeatable, or comma-separated): the agent fails over between them', repeatable: true },
      { flags: '--token <token>', description: 'join token (`bramble token create`, or the server\'s <data dir>/token); not needed once joined. Visible to other users in `ps`: prefer --token-file or $BRAMBLE_TOKEN' },
      { flags: '--token-file <file>', description: 'read the join token from this file' },
      { flags: '--node-name <name>', description: NODE_NAME_HELP },
      { flags: '--data-dir <dir>', description: 'where the node credential, logs and volumes live (default /var/lib/bramble/agent as root, ~/.bramble/agent otherwise)' },
      CONTAINERD,
      { flags: '--labels <k=v,...>', description: 'labels of this node, e.g. "disk=ssd,zone=attic"' },
      { flags: '--reserve <resources>', description: 'kept back from pods for the system (default "cpu=100m,memory=256Mi")' },
      { flags: '--insecure-registry <host:port>', description: 'registry pulled from over plain HTTP (repeatable)', repeatable: true },
      { flags: '--cni-path <dir>', description: 'directory of the CNI plugins (default /usr/lib/cni, where Debian installs them)' },
      { flags: '--shim-group <pod|container>', description: 'how containers share containerd shims: "pod" (default: one shim runs all of a Pod\'s containers, about 2 MB less per extra container) or "container" (one shim each, for a runtime that ignores the io.containerd.runc.v2.group annotation)' },
      IGNORE_CHECK,
      { flags: '--cleanup', description: 'remove what the agent added to the board\'s network (its routes to other boards\' pods, the pod network namespaces and their hostPort rules, the bramble0 bridge, the Service rules) and exit; a plain stop leaves them so pods keep running. Stop the pods\' containers first' },
    ],
    daemon: true,
    action: (ctx, _args, o) =>
      runAgent(ctx, {
        server: optStrings(o, 'server'),
        token: optString(o, 'token'),
        tokenFile: optString(o, 'tokenFile'),
        envToken: process.env.BRAMBLE_TOKEN,
        nodeName: optString(o, 'nodeName'),
        dataDir: optString(o, 'dataDir'),
        containerdAddress: optString(o, 'containerdAddress'),
        labels: optString(o, 'labels'),
        reserve: optString(o, 'reserve'),
        insecureRegistries: optStrings(o, 'insecureRegistry'),
        cniPath: optString(o, 'cniPath'),
        shimGroup: optString(o, 'shimGroup'),
        cleanup: optBool(o, 'cleanup'),
        ignoreChecks: optStrings(o, 'ignoreCheck'),
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
    name: 'create',
    description: 'create an object from another one',
    subcommands: [
      {
        name: 'job',
        description: 'run a CronJob\'s jobTemplate now: a Job owned by the CronJob, annotated cronjob.kubernetes.io/instantiate=manual (as kubectl create job --from)',
        arguments: [{ name: '<name>', description: 'name of the new Job' }],
        options: [NAMESPACE, { flags: '--from <cronjob>', description: 'the CronJob to copy the jobTemplate of: cronjob/NAME or cj/NAME (required)' }],
        action: (ctx, a, o) => runCreateJob(ctx, { name: argString(a, 0), from: optString(o, 'from'), namespace: optString(o, 'namespace') }),
      },
    ],
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
      { flags: '--field-selector <selector>', description: 'field selector, e.g. "involvedObject.name=web,type=Warning" (events), "metadata.name=web"' },
      { flags: '-o, --output <format>', description: 'output format', choices: OUTPUT_FORMATS },
      { flags: '--consistency <level>', description: 'linearizable: every write acknowledged before this read is in the answer (a follower asks the leader first); serializable: the state of the member the CLI talks to (--server), maybe behind, without asking anyone', choices: ['linearizable', 'serializable'], defaultValue: 'linearizable' },
    ],
    action: (ctx, a, o) =>
      runGet(ctx, {
        consistency: optString(o, 'consistency') as 'linearizable' | 'serializable' | undefined,
        fieldSelector: optString(o, 'fieldSelector'),
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
    options: [
      FILENAME,
      NAMESPACE,
      { flags: '--ignore-not-found', description: 'succeed when an object does not exist' },
      { flags: '--force', description: 'remove Pods from the cluster at once, without waiting for their board to stop them' },
      {
        flags: '--cascade <mode>',
        description: 'what happens to the objects\' dependents: background (deleted after the object), orphan (kept, without the reference), foreground (deleted first; waits until the object is gone)',
        defaultValue: 'background',
      },
      { flags: '--timeout <duration>', description: 'with --cascade=foreground: how long to wait, e.g. 30s or 5m (0: no limit)', defaultValue: '5m' },
    ],
    action: (ctx, a, o) =>
      runDelete(ctx, {
        files: optStrings(o, 'filename'),
        kind: argString(a, 0),
        names: argStrings(a, 1),
        namespace: optString(o, 'namespace'),
        ignoreNotFound: optBool(o, 'ignoreNotFound'),
        force: optBool(o, 'force'),
        cascade: optString(o, 'cascade'),
        timeout: optString(o, 'timeout'),
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
    name: 'cordon',
    description: 'mark a node unschedulable: new Pods go elsewhere, Pods already there keep running',
    arguments: [{ name: '<node>', description: 'name of the node' }],
    options: [],
    action: (ctx, a) => runCordon(ctx, { node: argString(a, 0), unschedulable: true }),
  },
  {
    name: 'uncordon',
    description: 'mark a node schedulable again',
    arguments: [{ name: '<node>', description: 'name of the node' }],
    options: [],
    action: (ctx, a) => runCordon(ctx, { node: argString(a, 0), unschedulable: false }),
  },
  {
    name: 'drain',
    description: 'cordon a node, then evict (gracefully delete) its Pods and wait until they are gone; refuses, before evicting anything, when it finds DaemonSet Pods, Pods with emptyDir volumes or Pods no controller manages (see the flags)',
    arguments: [{ name: '<node>', description: 'name of the node' }],
    options: [
      { flags: '--ignore-daemonsets', description: 'leave DaemonSet-managed Pods running (without it drain refuses when there are any)' },
      { flags: '--delete-emptydir-data', description: 'evict Pods with emptyDir volumes too; their data is lost' },
      { flags: '--force', description: 'evict Pods that no controller manages too; nothing makes them again' },
      { flags: '--timeout <duration>', description: 'give up waiting after this long (e.g. 90s, 5m) and exit 1; 0 waits for ever', defaultValue: '0' },
      { flags: '--grace-period <seconds>', description: 'seconds each evicted Pod gets to stop, from 1; -1 keeps each Pod\'s own terminationGracePeriodSeconds', defaultValue: '-1' },
    ],
    action: (ctx, a, o) =>
      runDrain(ctx, {
        node: argString(a, 0),
        ignoreDaemonSets: optBool(o, 'ignoreDaemonsets'),
        deleteEmptyDirData: optBool(o, 'deleteEmptydirData'),
        force: optBool(o, 'force'),
        timeout: optString(o, 'timeout'),
        gracePeriod: optString(o, 'gracePeriod'),
      }),
  },
  {
    name: 'scale',
    description: 'set the number of replicas of a Deployment or ReplicaSet',
    arguments: [{ name: '<kind>', description: 'deploy/NAME or rs/NAME (or a kind, with the name as the next argument)' }, WORKLOAD_NAME],
    options: [
      NAMESPACE,
      { flags: '--replicas <count>', description: 'the number of replicas wanted, 0 or more (required)' },
      { flags: '--current-replicas <count>', description: 'precondition: scale only if the object now wants this many replicas' },
      { flags: '--resource-version <version>', description: 'precondition: scale only if the object is still at this resourceVersion' },
    ],
    action: (ctx, a, o) =>
      runScale(ctx, {
        kind: argString(a, 0) ?? '',
        name: argString(a, 1),
        namespace: optString(o, 'namespace'),
        replicas: optString(o, 'replicas'),
        currentReplicas: optString(o, 'currentReplicas'),
        resourceVersion: optString(o, 'resourceVersion'),
      }),
  },
  {
    name: 'set',
    description: 'change one field of a workload',
    subcommands: [
      {
        name: 'image',
        description: 'set container images of a Deployment, DaemonSet or ReplicaSet template: CONTAINER=IMAGE, or *=IMAGE for every container (init containers too)',
        arguments: [{ name: '<args...>', description: 'the object (deploy/NAME, or KIND NAME) followed by one or more CONTAINER=IMAGE' }],
        options: [NAMESPACE],
        action: (ctx, a, o) => runSetImage(ctx, { args: argStrings(a, 0), namespace: optString(o, 'namespace') }),
      },
    ],
  },
  {
    name: 'rollout',
    description: 'manage the rollout of a Deployment or DaemonSet',
    subcommands: [
      {
        name: 'status',
        description: 'watch a rollout until it is done; exits non-zero if it exceeds its progress deadline or --timeout passes',
        arguments: [WORKLOAD_KIND, WORKLOAD_NAME],
        options: [
          NAMESPACE,
          { flags: '--timeout <duration>', description: 'how long to wait before giving up, e.g. 30s or 5m (0: no limit)', defaultValue: '0' },
          { flags: '-w, --watch [bool]', description: 'keep watching until the rollout ends; --watch=false prints the status once', defaultValue: 'true' },
        ],
        action: (ctx, a, o) => runRolloutStatus(ctx, { ...rolloutTarget(a, o), timeout: optString(o, 'timeout'), watch: o.watch as string | boolean | undefined }),
      },
      rolloutCommand('history', 'list the revisions of a Deployment (REVISION, CHANGE-CAUSE), or show the Pod template of one', 'a deployment', [
        { flags: '--revision <n>', description: 'show the Pod template of this revision' },
      ], (ctx, a, o) => runRolloutHistory(ctx, { ...rolloutTarget(a, o), revision: optString(o, 'revision') })),
      rolloutCommand('undo', 'roll a Deployment back to its previous revision, or to --to-revision', 'a deployment', [
        { flags: '--to-revision <n>', description: 'the revision to go back to (default: the one before the current)' },
      ], (ctx, a, o) => runRolloutUndo(ctx, { ...rolloutTarget(a, o), toRevision: optString(o, 'toRevision') })),
      rolloutCommand('restart', 'replace every Pod of a Deployment or DaemonSet by a rollout (sets the template annotation kubectl.kubernetes.io/restartedAt)', 'a deployment or daemonset', [],
        (ctx, a, o) => runRolloutRestart(ctx, rolloutTarget(a, o))),
      rolloutCommand('pause', 'stop a Deployment from rolling out template changes until it is resumed', 'a deployment', [],
        (ctx, a, o) => runRolloutPause(ctx, { ...rolloutTarget(a, o), paused: true })),
      rolloutCommand('resume', 'let a paused Deployment roll out again', 'a deployment', [],
        (ctx, a, o) => runRolloutPause(ctx, { ...rolloutTarget(a, o), paused: false })),
    ],
  },
  {
    name: 'logs',
    description: 'print the log of a container of a Pod (or of a Job\'s, Deployment\'s, ReplicaSet\'s or DaemonSet\'s first Pod)',
    arguments: [{ name: '<pod>', description: 'name of the Pod, or job/NAME, deploy/NAME, rs/NAME, ds/NAME' }],
    options: [
      NAMESPACE,
      { flags: '-c, --container <name>', description: 'container of the Pod (needed when it has several)' },
      { flags: '-f, --follow', description: 'keep printing new lines until Ctrl-C' },
      { flags: '--tail <lines>', description: 'only the last N lines (-1: all)' },
      { flags: '-p, --previous', description: 'the log of the previous instance of the container (before its last restart)' },
    ],
    action: async (ctx, a, o) => {
      const interrupt = interruptSignal();
      try {
        return await runLogs(
          ctx,
          {
            pod: argString(a, 0) ?? '',
            container: optString(o, 'container'),
            follow: optBool(o, 'follow'),
            tail: optString(o, 'tail'),
            namespace: optString(o, 'namespace'),
            previous: optBool(o, 'previous'),
          },
          interrupt.signal,
        );
      } finally {
        interrupt.dispose();
      }
    },
  },
  {
    name: 'exec',
    description: 'run a command in a running container of a Pod (`bramble exec POD [-c C] [-i] [-t] -- COMMAND [ARGS...]`); exits with its exit code',
    arguments: [
      { name: '<pod>', description: 'name of the Pod (or pod/NAME)' },
      { name: '[command...]', description: 'the command and its arguments, run without a shell; put them after -- when they have options' },
    ],
    options: [
      NAMESPACE,
      { flags: '-c, --container <name>', description: 'container of the Pod, or a running init container or sidecar (default: the kubectl.kubernetes.io/default-container annotation, else the first)' },
      { flags: '-i, --stdin', description: 'pass this terminal\'s (or pipe\'s) stdin to the command' },
      { flags: '-t, --tty', description: 'give the command a terminal; needs stdin to be a terminal (this one goes raw, resizes follow)' },
    ],
    action: async (ctx, a, o) => {
      const interrupt = interruptSignal();
      try {
        return await runExec(ctx, {
          pod: argString(a, 0) ?? '',
          command: Array.isArray(a[1]) ? (a[1] as unknown[]).filter((x): x is string => typeof x === 'string') : [],
          container: optString(o, 'container'),
          namespace: optString(o, 'namespace'),
          stdin: optBool(o, 'stdin'),
          tty: optBool(o, 'tty'),
        }, interrupt.signal);
      } finally {
        interrupt.dispose();
      }
    },
  },
  {
    name: 'top',
    description: 'show live CPU, memory and temperature figures of nodes or Pods',
    subcommands: [
      {
        name: 'nodes',
        aliases: ['node', 'no'],
        description: 'CPU, memory, temperature and load of every node that has reported',
        arguments: [],
        options: [{ flags: '-o, --output <format>', description: 'output format', choices: TOP_OUTPUT_FORMATS }],
        action: (ctx, _args, o) =>
          runTop(ctx, { what: 'nodes', allNamespaces: false, output: (optString(o, 'output') ?? 'table') as TopOutput }),
      },
      {
        name: 'pods',
        aliases: ['pod', 'po'],
        description: 'CPU and memory of running Pods',
        arguments: [],
        options: [
          NAMESPACE,
          { flags: '-A, --all-namespaces', description: 'Pods of every namespace' },
          { flags: '-o, --output <format>', description: 'output format', choices: TOP_OUTPUT_FORMATS },
        ],
        action: (ctx, _args, o) =>
          runTop(ctx, {
            what: 'pods',
            namespace: optString(o, 'namespace'),
            allNamespaces: optBool(o, 'allNamespaces'),
            output: (optString(o, 'output') ?? 'table') as TopOutput,
          }),
      },
    ],
  },
  {
    name: 'cluster',
    description: 'the control-plane members: their roles and how far each has applied the store',
    subcommands: [
      {
        name: 'status',
        description: 'show each member: role, term, commit and applied index, lag behind the leader, last contact',
        arguments: [],
        options: [{ flags: '-o, --output <format>', description: 'output format', choices: CLUSTER_OUTPUT_FORMATS }],
        action: (ctx, _args, o) => runClusterStatus(ctx, { output: (optString(o, 'output') ?? 'table') as ClusterOutput }),
      },
      {
        name: 'remove',
        description: 'remove a member from the control plane (one membership change at a time); stop its server first',
        arguments: [{ name: '<name>', description: 'the member\'s name (its --node-name), as `bramble cluster status` shows it' }],
        options: [],
        action: (ctx, a) => runClusterRemove(ctx, { name: argString(a, 0) ?? '' }),
      },
    ],
  },
  {
    name: 'check',
    description: 'on this machine, with no server needed: the preflight the agent runs at start (cgroup controllers, containerd and runc, CNI plugins, iptables, forwarding, bridge netfilter, clock, disk, memory, page size), each finding with its fix. Exits 1 on a fatal finding, on which the agent would not start',
    arguments: [],
    options: [
      { flags: '--containerd-address <sock>', description: 'containerd socket to check', defaultValue: DEFAULT_CONTAINERD_ADDRESS },
      { flags: '--cni-path <dir>', description: 'directory of the CNI plugins (default /usr/lib/cni)' },
      { flags: '--data-dir <dir>', description: 'the agent\'s data dir, whose file system must have room (default /var/lib/bramble/agent as root, ~/.bramble/agent otherwise)' },
      { flags: '-o, --output <format>', description: 'output format', choices: CHECK_OUTPUT_FORMATS },
    ],
    action: (ctx, _args, o) => runCheck(ctx, {
      containerdAddress: optString(o, 'containerdAddress'), cniPath: optString(o, 'cniPath'), dataDir: optString(o, 'dataDir'),
      output: (optString(o, 'output') ?? 'table') as CheckOutput,
    }),
  },
  {
    name: 'certificate',
    description: 'the cluster\'s TLS certificates',
    subcommands: [
      {
        name: 'status',
        description: 'on this machine, with no server needed: list the certificates in a data dir (the CA and serving certificate in tls/, the admin\'s in admin.conf, an agent\'s node.crt and ca.crt, also under DIR/agent) with subject, expiry and days left; replica certificates are issued in memory at each server start and are not listed. Exits 1 when one has expired or is not valid yet',
        arguments: [],
        options: [
          { flags: '--data-dir <dir>', description: 'the server\'s or agent\'s data dir (default /var/lib/bramble as root, ~/.bramble otherwise)' },
          { flags: '-o, --output <format>', description: 'output format', choices: CERTIFICATE_OUTPUT_FORMATS },
        ],
        action: (ctx, _args, o) => runCertificateStatus(ctx, { dataDir: optString(o, 'dataDir'), output: (optString(o, 'output') ?? 'table') as CertificateOutput }),
      },
      {
        name: 'rotate-ca',
        description: 'replace the cluster CA with a new one, without a restart; the previous CA stays trusted (and serving) for the overlap while agents renew onto the new one, then is dropped. A single server: on its machine, against its data dir. A replicated control plane (a member\'s data dir): every member rotates together through the API, and a member that cannot be reached stops the rotation before anything uses the new CA',
        arguments: [],
        options: [
          { flags: '--data-dir <dir>', description: 'the server\'s data dir (default /var/lib/bramble as root, ~/.bramble otherwise)' },
          { flags: '--overlap <days>', description: 'how long the previous CA stays trusted', defaultValue: String(DEFAULT_CA_OVERLAP_DAYS) },
        ],
        action: (ctx, _args, o) => runCertificateRotateCa(ctx, { dataDir: optString(o, 'dataDir'), overlapDays: optString(o, 'overlap') }),
      },
    ],
  },
  {
    name: 'token',
    description: 'manage the join tokens that let new boards join the cluster',
    subcommands: [
      {
        name: 'create',
        description: 'create a join token and print it (alone on stdout)',
        arguments: [],
        options: [
          { flags: '--ttl <duration>', description: 'lifetime such as 90m, 24h or 7d; 0 never expires', defaultValue: DEFAULT_TOKEN_TTL },
          { flags: '--description <text>', description: 'what the token is for' },
        ],
        action: (ctx, _args, o) => runTokenCreate(ctx, { ttl: optString(o, 'ttl'), description: optString(o, 'description') }),
      },
      {
        name: 'list',
        aliases: ['ls'],
        description: 'list join tokens (their secrets are never shown again)',
        arguments: [],
        options: [{ flags: '-o, --output <format>', description: 'output format', choices: TOKEN_OUTPUT_FORMATS }],
        action: (ctx, _args, o) => runTokenList(ctx, { output: (optString(o, 'output') ?? 'table') as TokenOutput }),
      },
      {
        name: 'delete',
        aliases: ['rm'],
        description: 'delete a join token: boards can no longer join with it (joined boards stay)',
        arguments: [{ name: '<id>', description: 'token ID, as `bramble token list` shows it' }],
        options: [],
        action: (ctx, a) => runTokenDelete(ctx, { id: argString(a, 0) ?? '' }),
      },
    ],
  },
  {
    name: 'secrets-encryption',
    description: 'Secrets encryption at rest (AES-256-GCM, keys in <data dir>/cred/encryption-keys.json): show and rotate the keys',
    subcommands: [
      {
        name: 'status',
        description: 'show the active key, every key in the key file and how many Secrets each encrypts (and how many are in clear or unreadable)',
        arguments: [],
        options: [{ flags: '-o, --output <format>', description: 'output format', choices: SECRETS_ENCRYPTION_OUTPUT_FORMATS }],
        action: (ctx, _args, o) => runSecretsEncryptionStatus(ctx, { output: (optString(o, 'output') ?? 'text') as SecretsEncryptionOutput }),
      },
      {
        name: 'rotate',
        description: 'add a new key and make it active, re-encrypt every Secret with it (Secrets stay readable throughout), then remove the keys no Secret uses; ' +
          'a snapshot saved before the rotation needs the key file saved with it',
        arguments: [],
        options: [
          { flags: '--keep-old-keys', description: 'leave the old keys in the key file (the next rotation removes them once unused)' },
          { flags: '-o, --output <format>', description: 'output format', choices: SECRETS_ENCRYPTION_OUTPUT_FORMATS },
        ],
        action: (ctx, _args, o) => runSecretsEncryptionRotate(ctx, {
          output: (optString(o, 'output') ?? 'text') as SecretsEncryptionOutput, keepOldKeys: optBool(o, 'keepOldKeys'),
        }),
      },
    ],
  },
  {
    name: 'image',
    description: 'manage container images on the boards',
    subcommands: [
      {
        name: 'import',
        description: 'send an image tarball (docker save, ctr images export) to the containerd of one node',
        arguments: [{ name: '<file>', description: 'the image tarball' }],
        options: [{ flags: '--node <node>', description: 'node whose containerd gets the image (required)' }],
        action: (ctx, a, o) => runImageImport(ctx, { file: argString(a, 0) ?? '', node: optString(o, 'node') }),
      },
    ],
  },
  {
    name: 'store',
    description: 'back up and restore the control plane\'s store',
    subcommands: [
      {
        name: 'snapshot',
        description: 'snapshots of the store: every object, the retained events and the revision, at one revision, with a SHA-256 checksum',
        subcommands: [
          {
            name: 'save',
            description: 'ask the server for a snapshot of its store and write it to FILE (through FILE.tmp, fsynced and checked); prints the revision, objects and bytes',
            arguments: [{ name: '<file>', description: 'the snapshot file to write (mode 0600)' }],
            options: [{ flags: '--force', description: 'replace FILE if it exists' }],
            action: (ctx, a, o) => runSnapshotSave(ctx, { file: argString(a, 0), force: optBool(o, 'force') }),
          },
          {
            name: 'restore',
            description: 'offline, with no server running on DIR: check FILE whole, then make DIR\'s store from it (every object, the retained events, the revision and the compacted revision); then `bramble server --data-dir DIR` starts it as a one-member cluster',
            arguments: [{ name: '<file>', description: 'a snapshot written by `store snapshot save` or --snapshot-schedule' }],
            options: [
              { flags: '--data-dir <dir>', description: 'data dir of the server to restore into (required)' },
              { flags: '--force', description: 'restore over a store already in DIR: it is moved aside to DIR/store.old-TIME, never deleted' },
              { flags: '--encryption-keys <file>', description: 'the cred/encryption-keys.json of the data dir the snapshot comes from, copied to DIR/cred (mode 0600); needed to read its Secrets, and never part of a snapshot' },
            ],
            action: (ctx, a, o) => runSnapshotRestore(ctx, {
              file: argString(a, 0), dataDir: optString(o, 'dataDir'), force: optBool(o, 'force'), encryptionKeys: optString(o, 'encryptionKeys'),
            }),
          },
        ],
      },
    ],
  },
  {
    name: 'version',
    description: 'print the client and server versions',
    arguments: [],
    options: [{ flags: '-o, --output <format>', description: 'output format', choices: ['json'] }],
    action: (ctx, _args, o) => runVersion(ctx, { output: optString(o, 'output') === 'json' ? 'json' : undefined }),
  },
];
