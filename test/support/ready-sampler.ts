// Follows the Pods of a label selector through a Watch and records, after every
// event, how many are Ready and not being deleted: every state the store went
// through, not only those a poll happens to see. For the "never fewer than
// replicas - maxUnavailable Ready Pods" checks of rolling updates.
import * as grpc from '@grpc/grpc-js';
import { loadProto } from '../../proto/load.js';
import type { Pod } from '../../proto/model.js';
import type { ClusterClient } from '../../proto/generated/bramble/v1/Cluster.js';
import type { WatchEvent__Output } from '../../proto/generated/bramble/v1/WatchEvent.js';
import { channelOptions } from '../../control-plane/cli/cli-client.js';
import { clientCredentials, readClientConfig } from '../../control-plane/pki/client-config.js';

export const isReadyPod = (p: Pod): boolean =>
  !p.metadata.deletionTimestamp && (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);

export class ReadySampler {
  /** Ready Pods after each event, in order. */
  readonly samples: number[] = [];
  private readonly pods = new Map<string, Pod>();
  private call: grpc.ClientReadableStream<WatchEvent__Output> | undefined;
  private error: Error | undefined;

  private constructor(private readonly client: ClusterClient, private readonly counts: (p: Pod) => boolean) {}

  /**
   * Lists the Pods, then watches from the list's revision, so no event falls in between.
   * `counts` says which Pods a sample counts (Ready ones unless told).
   */
  static async start(configPath: string, namespace: string, labelSelector: string, counts: (p: Pod) => boolean = isReadyPod): Promise<ReadySampler> {
    const cfg = await readClientConfig(configPath);
    const { Cluster } = loadProto().bramble.v1;
    const client: ClusterClient = new Cluster(cfg.server, clientCredentials(cfg), channelOptions(cfg.server));
    const s = new ReadySampler(client, counts);
    const listed = await new Promise<{ objects: string[]; revision: number }>((resolve, reject) =>
      client.List({ kind: 'Pod', namespace, labelSelector }, (err, res) => (err || !res ? reject(err ?? new Error('List returned nothing')) : resolve({ objects: res.objects, revision: Number(res.revision) }))));
    for (const o of listed.objects) {
      const p = JSON.parse(o) as Pod;
      s.pods.set(p.metadata.name, p);
    }
    s.record();
    s.call = client.Watch({ kind: 'Pod', namespace, labelSelector, fromRevision: listed.revision });
    s.call.on('data', (ev: WatchEvent__Output) => {
      const p = JSON.parse(ev.object) as Pod;
      if (ev.type === 'DELETED') s.pods.delete(p.metadata.name);
      else s.pods.set(p.metadata.name, p);
      s.record();
    });
    s.call.on('error', (e: grpc.ServiceError) => {
      if (e.code !== grpc.status.CANCELLED) s.error = e;
    });
    return s;
  }

  private record(): void {
    this.samples.push([...this.pods.values()].filter(this.counts).length);
  }

  /** Stops watching; throws if the watch failed, since the samples would then be incomplete. */
  stop(): number[] {
    this.call?.cancel();
    this.client.close();
    if (this.error) throw new Error(`the Pod watch failed: ${this.error.message}`);
    return this.samples;
  }
}
