// securityContext, as the kubelet applies it: the container's fields win over
// the Pod's, runAsNonRoot is checked against the user the process will really
// have, and capabilities are named as the runtime wants them. The runtime
// (runtime-ctr.ts) turns ContainerSecurity into `ctr` flags, and sets the user
// by editing the container's OCI spec: ctr 1.6 has no user flag (see there).
import type { Container, Pod } from '../proto/model.js';
import { DEFAULT_NAMESPACE } from '../proto/model.js';
import type { ContainerSecurity } from './runtime.js';

/** Every Linux capability (through CAP_CHECKPOINT_RESTORE, kernel 5.9), for "ALL". */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** containerd's default set (oci.populateDefaultUnixSpec), which "drop: [ALL]" must take away. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

function capName(c: string): string {
  const up = c.toUpperCase();
  return up.startsWith('CAP_') ? up : `CAP_${up}`;
}

export interface EffectiveSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  supplementalGroups: number[];
}

/** The user-related fields, container over Pod (supplementalGroups exist at Pod level only). */
export function effectiveUser(pod: Pod, c: Container): EffectiveSecurityContext {
  const p = pod.spec.securityContext ?? {};
  const s = c.securityContext ?? {};
  return {
    runAsUser: s.runAsUser ?? p.runAsUser,
    runAsGroup: s.runAsGroup ?? p.runAsGroup,
    runAsNonRoot: s.runAsNonRoot ?? p.runAsNonRoot,
    supplementalGroups: p.supplementalGroups ?? [],
  };
}

/**
 * What the runtime enforces for this container. Capabilities follow CRI containerd:
 * "ALL" in add starts from every capability, "ALL" in drop from none, then the named
 * adds and drops apply (drops last). As ctr applies its --cap-add flags before its
 * --cap-drop flags on the default set, "drop ALL" becomes a drop of each default
 * capability not added back.
 */
export function securityFor(pod: Pod, c: Container): ContainerSecurity {
  const s = c.securityContext ?? {};
  const u = effectiveUser(pod, c);
  const addNamed = (s.capabilities?.add ?? []).filter((x) => x.toUpperCase() !== 'ALL').map(capName);
  const dropNamed = (s.capabilities?.drop ?? []).filter((x) => x.toUpperCase() !== 'ALL').map(capName);
  const addAll = (s.capabilities?.add ?? []).some((x) => x.toUpperCase() === 'ALL');
  const dropAll = (s.capabilities?.drop ?? []).some((x) => x.toUpperCase() === 'ALL');
  let capAdd = addAll ? [...ALL_CAPABILITIES] : [...addNamed];
  let capDrop = [...dropNamed];
  if (dropAll && !addAll) {
    // Named adds survive a "drop ALL" (CRI applies them after emptying the set); named drops still win.
    capAdd = addNamed.filter((x) => !dropNamed.includes(x));
    capDrop = [...new Set([...DEFAULT_CAPABILITIES.filter((x) => !capAdd.includes(x)), ...dropNamed])];
  }
  capAdd = [...new Set(capAdd)];
  const privileged = s.privileged === true;
  const user = u.runAsUser !== undefined || u.runAsGroup !== undefined || u.supplementalGroups.length > 0
    ? {
        ...(u.runAsUser !== undefined ? { uid: u.runAsUser } : {}),
        // Kubernetes takes the primary group of runAsUser from the image's /etc/passwd; Bramble cannot read it and uses 0.
        ...(u.runAsGroup !== undefined ? { gid: u.runAsGroup } : u.runAsUser !== undefined ? { gid: 0 } : {}),
        ...(u.supplementalGroups.length > 0 ? { supplementalGroups: [...u.supplementalGroups] } : {}),
      }
    : undefined;
  return {
    ...(user ? { user } : {}),
    readOnlyRootFilesystem: s.readOnlyRootFilesystem === true,
    privileged,
    capAdd,
    capDrop,
    allowPrivilegeEscalation: privileged || s.allowPrivilegeEscalation !== false,
  };
}

/**
 * Kubernetes' verifyRunAsNonRoot: with runAsNonRoot, an explicit runAsUser must not be 0;
 * without one, the image's USER must be a numeric non-zero uid (no USER means root, a
 * user name cannot be verified). Returns the refusal message, or undefined to go ahead.
 */
export function runAsNonRootProblem(pod: Pod, c: Container, imageUser: () => string): string | undefined {
  const u = effectiveUser(pod, c);
  if (u.runAsNonRoot !== true) return undefined;
  const podRef = `${pod.metadata.name}_${pod.metadata.namespace ?? DEFAULT_NAMESPACE}(${pod.metadata.uid ?? ''})`;
  if (u.runAsUser !== undefined) {
    return u.runAsUser === 0 ? `container's runAsUser breaks non-root policy (pod: "${podRef}", container: ${c.name})` : undefined;
  }
  const user = imageUser().split(':')[0]!;
  if (user === '' || user === '0') return `container has runAsNonRoot and image will run as root (pod: "${podRef}", container: ${c.name})`;
  if (!/^\d+$/.test(user)) {
    return `container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root (pod: "${podRef}", container: ${c.name})`;
  }
  return undefined;
}

/** `ctr run` / `ctr containers create` flags for everything but the user. */
export function securityArgs(sec: ContainerSecurity): string[] {
  const args: string[] = [];
  if (sec.privileged) args.push('--privileged');
  if (sec.readOnlyRootFilesystem) args.push('--read-only');
  // ctr sets no_new_privs unless told otherwise; Kubernetes sets it only for allowPrivilegeEscalation: false.
  if (sec.allowPrivilegeEscalation) args.push('--allow-new-privs');
  for (const c of sec.capAdd) args.push('--cap-add', c);
  for (const c of sec.capDrop) args.push('--cap-drop', c);
  return args;
}

interface OciUser {
  uid?: number;
  gid?: number;
  additionalGids?: number[];
  [k: string]: unknown;
}

/**
 * The OCI spec with the process user set: uid/gid replaced when given, the supplemental
 * groups added (to those containerd found in the image's /etc/group when the uid stays).
 */
export function withUser(spec: Record<string, unknown>, user: NonNullable<ContainerSecurity['user']>): Record<string, unknown> {
  const process = { ...((spec.process ?? {}) as Record<string, unknown>) };
  const current = { ...((process.user ?? {}) as OciUser) };
  if (user.uid !== undefined) current.uid = user.uid;
  if (user.gid !== undefined) current.gid = user.gid;
  const extra = user.supplementalGroups ?? [];
  // containerd found those groups for the image's user; another uid must not inherit them.
  const inherited = user.uid !== undefined ? [] : (current.additionalGids ?? []);
  const groups = [...new Set([...inherited, ...extra])];
  if (groups.length > 0) current.additionalGids = groups;
  else delete current.additionalGids;
  // A name would make runc look the user up again in the image's /etc/passwd.
  delete current.username;
  process.user = current;
  return { ...spec, process };
}
