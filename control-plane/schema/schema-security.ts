// securityContext at Pod and container level. Only what the agent enforces is
// accepted; the Kubernetes fields it cannot enforce (SELinux, seccomp,
// AppArmor, procMount, Windows, sysctls, fsGroup) are refused by name rather
// than silently ignored, so a manifest never promises a protection it lacks.
import { z } from 'zod';
import { ALWAYS, addProblem, field, int, isRecord } from './schema-errors.js';

const id = () => int().min(0).max(2147483647);

// Kubernetes takes capability names with or without the CAP_ prefix.
const CAPABILITY = /^(CAP_)?[A-Z][A-Z0-9_]*$/i;
const capability = () =>
  z.string().superRefine((v, ctx) => {
    if (!CAPABILITY.test(v)) addProblem(ctx, [], 'must be a capability name such as "NET_ADMIN" or "CAP_NET_ADMIN" (or "ALL")', v);
  });

const UNSUPPORTED_CONTAINER = ['seLinuxOptions', 'seccompProfile', 'appArmorProfile', 'procMount', 'windowsOptions'] as const;
const UNSUPPORTED_POD = [
  'seLinuxOptions', 'seccompProfile', 'appArmorProfile', 'windowsOptions', 'sysctls', 'fsGroup', 'fsGroupChangePolicy',
  'supplementalGroupsPolicy', 'seLinuxChangePolicy',
] as const;

function refuseUnsupported(ctx: z.core.$RefinementCtx<unknown>, v: unknown, names: readonly string[]): void {
  for (const name of names) {
    if (field(v, name) !== undefined) addProblem(ctx, [name], 'is not supported by Bramble: the agent cannot enforce it, so it is refused rather than ignored');
  }
}

const unsupported = (names: readonly string[]): Record<string, z.ZodOptional<z.ZodUnknown>> =>
  Object.fromEntries(names.map((n) => [n, z.unknown().optional()]));

export const securityContextSchema = z
  .strictObject({
    runAsUser: id().optional(),
    runAsGroup: id().optional(),
    runAsNonRoot: z.boolean().optional(),
    readOnlyRootFilesystem: z.boolean().optional(),
    privileged: z.boolean().optional(),
    allowPrivilegeEscalation: z.boolean().optional(),
    capabilities: z.strictObject({ add: z.array(capability()).optional(), drop: z.array(capability()).optional() }).optional(),
    ...unsupported(UNSUPPORTED_CONTAINER),
  })
  .superRefine((s, ctx) => {
    refuseUnsupported(ctx, s, UNSUPPORTED_CONTAINER);
    if (!isRecord(s) || field(s, 'allowPrivilegeEscalation') !== false) return;
    // Kubernetes' own rules: privilege escalation cannot be off for a process that has it anyway.
    if (field(s, 'privileged') === true) addProblem(ctx, ['allowPrivilegeEscalation'], 'must not be false when privileged is true');
    const add = field(field(s, 'capabilities'), 'add');
    if (Array.isArray(add) && add.some((c) => c === 'SYS_ADMIN' || c === 'CAP_SYS_ADMIN')) {
      addProblem(ctx, ['allowPrivilegeEscalation'], 'must not be false when capabilities.add has SYS_ADMIN');
    }
  }, ALWAYS);

export const podSecurityContextSchema = z
  .strictObject({
    runAsUser: id().optional(),
    runAsGroup: id().optional(),
    runAsNonRoot: z.boolean().optional(),
    supplementalGroups: z.array(id()).optional(),
    ...unsupported(UNSUPPORTED_POD),
  })
  .superRefine((s, ctx) => refuseUnsupported(ctx, s, UNSUPPORTED_POD), ALWAYS);
