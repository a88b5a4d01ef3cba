// `bramble create job NAME --from=cronjob/NAME`: runs a CronJob's jobTemplate
// now, as kubectl does: the Job carries the annotation
// cronjob.kubernetes.io/instantiate=manual and an ownerReference to the
// CronJob, so the CronJob lists it while it runs and its history limits count it.
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import { CRONJOB_INSTANTIATE_ANNOTATION, type CronJob, type KObject } from '../../proto/model.js';
import { jobFromCronJob } from '../controllers/cronjob-jobs.js';
import { withCluster } from './cli-client.js';
import { namespaceFor, requireKind, splitKindName, type CommandContext } from './cli-context.js';
import { UsageError } from './cli-errors.js';

export interface CreateJobInput {
  name?: string;
  from?: string;
  namespace?: string;
}

/** The Job `create job --from` makes: the template's labels and annotations, kubectl's ownerReference (controller, no blockOwnerDeletion). */
export function manualJob(cj: CronJob, name: string): KObject {
  const job = jobFromCronJob(cj, { name, uid: '', nowIso: '', annotations: { [CRONJOB_INSTANTIATE_ANNOTATION]: 'manual' } });
  // The server fills in uid, creationTimestamp and generation.
  const { uid: _u, creationTimestamp: _c, generation: _g, ...metadata } = job.metadata;
  metadata.ownerReferences = [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata.name, uid: cj.metadata.uid!, controller: true }];
  return { ...job, metadata };
}

export async function runCreateJob(ctx: CommandContext, input: CreateJobInput): Promise<number> {
  if (!input.name) throw new UsageError('create job needs a name: use `bramble create job NAME --from=cronjob/NAME`');
  if (!input.from) throw new UsageError('create job needs --from=cronjob/NAME: Bramble makes Jobs from a CronJob\'s jobTemplate only');
  const { kind, name: cronJobName } = splitKindName(input.from, undefined);
  if (kind.kind !== 'CronJob') throw new UsageError(`--from must name a cronjob (cronjob/NAME or cj/NAME): "${input.from}" is a ${kind.kind}`);
  if (!cronJobName) throw new UsageError(`--from must be cronjob/NAME: current value is "${input.from}"`);
  const namespace = namespaceFor(kind, input.namespace);
  const jobKind = requireKind('Job');
  await withCluster(ctx.connect, async (conn) => {
    let cj: CronJob;
    try {
      cj = JSON.parse((await conn.get({ kind: 'CronJob', namespace, name: cronJobName })).object) as CronJob;
    } catch (e) {
      if (isBrambleError(e, 'NOT_FOUND')) throw new BrambleError('NOT_FOUND', `cronjobs.batch "${cronJobName}" not found in namespace "${namespace}"`);
      throw e;
    }
    try {
      await conn.get({ kind: jobKind.kind, namespace, name: input.name! });
      throw new BrambleError('ALREADY_EXISTS', `jobs.batch "${input.name}" already exists in namespace "${namespace}": choose another name`);
    } catch (e) {
      if (!isBrambleError(e, 'NOT_FOUND')) throw e;
    }
    // Apply would update a Job made between the check and here; the window is one round trip.
    await conn.apply({ objects: [JSON.stringify(manualJob(cj, input.name!))], dryRun: false });
  });
  ctx.io.stdout.write(`job.batch/${input.name} created\n`);
  return 0;
}
