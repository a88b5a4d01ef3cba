// `bramble set image deploy/web app=IMAGE [c2=IMAGE2 ...]`: changes the images of
// a workload's Pod template, as kubectl set image does; `*=IMAGE` sets every
// container, init containers included. Pods themselves are left out: Bramble does
// not restart a running Pod's container for a new image, so the change would
// only be written, never run; change the owner's template instead.
import { BrambleError } from '../../proto/util/errors.js';
import { resolveKind, type Container, type KObject, type PodSpec } from '../../proto/model.js';
import { withCluster } from './cli-client.js';
import type { CommandContext } from './cli-context.js';
import { UsageError } from './cli-errors.js';
import { qualifiedName, readModifyWrite, workloadTarget } from './cli-workload.js';

export const IMAGE_KINDS = ['Deployment', 'DaemonSet', 'ReplicaSet'] as const;

export interface SetImageInput {
  /** Positional words: KIND/NAME or KIND NAME, then CONTAINER=IMAGE pairs. */
  args: string[];
  namespace?: string;
}

export interface ImageUpdate {
  /** A container name, or "*" for all of them. */
  container: string;
  image: string;
}

/** Splits the words into the object (before the first "=") and the CONTAINER=IMAGE pairs. */
export function parseSetImageArgs(args: string[]): { kind: string; name?: string; updates: ImageUpdate[] } {
  const first = args.findIndex((a) => a.includes('='));
  const objectWords = first < 0 ? args : args.slice(0, first);
  const pairs = first < 0 ? [] : args.slice(first);
  if (objectWords.length === 0) throw new UsageError('set image needs an object first: use `bramble set image deploy/NAME CONTAINER=IMAGE`');
  if (objectWords.length > 2) throw new UsageError(`set image changes one object: give KIND/NAME or KIND NAME, current words are ${objectWords.map((w) => `"${w}"`).join(' ')}`);
  if (pairs.length === 0) throw new UsageError('set image needs at least one CONTAINER=IMAGE, e.g. app=nginx:1.27 (or *=IMAGE for every container)');
  const updates = pairs.map((p) => {
    const eq = p.indexOf('=');
    const container = p.slice(0, eq);
    const image = p.slice(eq + 1);
    if (container === '') throw new UsageError(`"${p}" names no container: use CONTAINER=IMAGE (or *=IMAGE)`);
    if (image === '' || /\s/.test(image)) throw new UsageError(`the image for container "${container}" must be a non-empty image reference without spaces: current value is "${image}"`);
    return { container, image };
  });
  const seen = new Set<string>();
  for (const u of updates) {
    if (seen.has(u.container)) throw new UsageError(`container "${u.container}" is given twice: give each container one image`);
    seen.add(u.container);
  }
  return { kind: objectWords[0]!, name: objectWords[1], updates };
}

/**
 * Sets the images on a copy of the Pod spec. A named container that the spec
 * does not have fails, naming it and the containers there are: a typo must not
 * pass as success. Returns whether any image changed.
 */
export function updateImages(spec: PodSpec, updates: ImageUpdate[], what: string): boolean {
  const all: Container[] = [...(spec.initContainers ?? []), ...spec.containers];
  let changed = false;
  for (const u of updates) {
    const targets = u.container === '*' ? all : all.filter((c) => c.name === u.container);
    if (targets.length === 0) {
      const init = (spec.initContainers ?? []).map((c) => c.name);
      const names = spec.containers.map((c) => c.name).join(', ') + (init.length > 0 ? `; init containers: ${init.join(', ')}` : '');
      throw new BrambleError('INVALID_ARGUMENT', `${what} has no container named "${u.container}": its containers are ${names}`);
    }
    for (const c of targets) {
      if (c.image !== u.image) changed = true;
      c.image = u.image;
    }
  }
  return changed;
}

export function templateSpecOf(obj: KObject): PodSpec {
  return (obj.spec as { template: { spec: PodSpec } }).template.spec;
}

export async function runSetImage(ctx: CommandContext, input: SetImageInput): Promise<number> {
  const parsed = parseSetImageArgs(input.args);
  if (resolveKind(parsed.kind.split('/')[0]!)?.kind === 'Pod') {
    throw new UsageError('set image does not change Pods: Bramble does not restart a running container for a new image; set the image of its Deployment, DaemonSet or ReplicaSet');
  }
  const target = workloadTarget('set image', parsed.kind, parsed.name, input.namespace, IMAGE_KINDS);
  const shown = qualifiedName(target.kind, target.name);
  const result = await withCluster(ctx.connect, (conn) =>
    readModifyWrite(conn, target, (obj) =>
      updateImages(templateSpecOf(obj), parsed.updates, shown) ? { write: obj } : { unchanged: 'the images are already these' },
    ),
  );
  // kubectl prints nothing for a no-op; saying so is kinder to a person checking their typing.
  ctx.io.stdout.write('unchanged' in result ? `${shown} image unchanged (the containers already run these images)\n` : `${shown} image updated\n`);
  return 0;
}
