// How the CronJob controller changes Jobs (its PodControl): a create that never
// overwrites (a taken name is ALREADY_EXISTS, which is what makes a second try
// for the same scheduled time harmless) and a background delete whose Pods the
// garbage collector removes after.
import { isBrambleError } from '../../proto/util/errors.js';
import type { Clock } from '../../proto/util/clock.js';
import { retryOnConflict } from '../store/retry-on-conflict.js';
import type { Store } from '../store/store.js';
import type { CronJobJob } from './cronjob-jobs.js';
import { removalOp } from './garbage-collector/deletion.js';

export interface JobControl {
  /** Rejects with ALREADY_EXISTS when the name is taken. */
  createJob(job: CronJobJob): Promise<CronJobJob>;
  /** Deletes the Job if it is still the one with this uid; false when it was already gone. */
  deleteJob(namespace: string, name: string, uid: string | undefined): Promise<boolean>;
}

export class StoreJobControl implements JobControl {
  constructor(private readonly store: Store, private readonly clock: Clock) {}

  async createJob(job: CronJobJob): Promise<CronJobJob> {
    const res = await this.store.propose({ ops: [{ type: 'put', object: job, precondition: { absent: true } }] });
    return res.objects[0] as CronJobJob;
  }

  async deleteJob(namespace: string, name: string, uid: string | undefined): Promise<boolean> {
    const nowIso = new Date(this.clock.now()).toISOString();
    let deleted = false;
    try {
      await retryOnConflict<CronJobJob>(this.store, { kind: 'Job', namespace, name }, (current) => {
        // A same-named Job made since is someone else's.
        if (uid !== undefined && current.metadata.uid !== uid) return undefined;
        const op = removalOp(this.store, current, nowIso);
        if (!op) return undefined;
        deleted = true;
        return op.type === 'delete' ? 'delete' : (op.object as CronJobJob);
      });
    } catch (e) {
      if (!isBrambleError(e, 'NOT_FOUND')) throw e;
      return false;
    }
    return deleted;
  }
}
