// A PodControl for controller tests: records what was asked for and, when given
// a real PodControl to pass to, also does it. Failures are queued up front, so a
// test says "the next two creates fail" rather than racing a store.
import type { KObject, Pod, PodTemplateSpec } from '../../proto/model.js';
import { podFromTemplate, type CreatePodOptions, type PodControl } from './pod-control.js';

export interface FakePodControlOptions {
  /** Does the recorded calls for real (a StorePodControl); without it nothing reaches a store. */
  passTo?: PodControl;
}

export class FakePodControl implements PodControl {
  readonly created: Pod[] = [];
  readonly deleted: string[] = [];
  readonly adopted: string[] = [];
  readonly released: string[] = [];
  private readonly createFailures: Error[] = [];
  private readonly deleteFailures: Error[] = [];
  private seq = 0;

  constructor(private readonly opts: FakePodControlOptions = {}) {}

  /** The next creates throw these, one each, in order. */
  failCreates(...errors: Error[]): void {
    this.createFailures.push(...errors);
  }

  failDeletes(...errors: Error[]): void {
    this.deleteFailures.push(...errors);
  }

  async createPod(namespace: string, template: PodTemplateSpec, owner: KObject, nodeName?: string, opts: CreatePodOptions = {}): Promise<Pod> {
    const failure = this.createFailures.shift();
    if (failure) throw failure;
    const base = opts.generateName ?? `${owner.metadata.name}-`;
    const pod = this.opts.passTo
      ? await this.opts.passTo.createPod(namespace, template, owner, nodeName, opts)
      : podFromTemplate(namespace, template, owner, `${base}fake${this.seq}`, `uid-fake-${this.seq++}`, '2026-01-01T00:00:00.000Z', nodeName, base);
    this.created.push(pod);
    return pod;
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    const failure = this.deleteFailures.shift();
    if (failure) throw failure;
    await this.opts.passTo?.deletePod(namespace, name);
    this.deleted.push(`${namespace}/${name}`);
  }

  async adoptPod(pod: Pod, owner: KObject, stillWanted: (fresh: Pod) => boolean): Promise<void> {
    await this.opts.passTo?.adoptPod(pod, owner, stillWanted);
    this.adopted.push(`${pod.metadata.namespace}/${pod.metadata.name}`);
  }

  async releasePod(pod: Pod, owner: KObject): Promise<void> {
    await this.opts.passTo?.releasePod(pod, owner);
    this.released.push(`${pod.metadata.namespace}/${pod.metadata.name}`);
  }
}
