// What the cluster sections (pods, workloads, cronjobs, eviction, service-ready)
// do first with their test cluster: an API client from its admin.conf, and a wait
// until every board's Node is Ready (and whatever else a section needs of a board).
import type { ClusterClient } from '../proto/generated/bramble/v1/Cluster.js';
import { loadProto } from '../proto/load.js';
import type { NodeObject } from '../proto/model.js';
import { isConditionTrue } from '../proto/util/conditions.js';
import { channelOptions } from '../control-plane/cli/cli-client.js';
import { clientCredentials, readClientConfig } from '../control-plane/pki/client-config.js';
import type { ClusterBoard, TestCluster } from '../test/support/cluster.js';
import { waitFor } from './util.js';

/** A Cluster API client with the cluster's admin credentials. */
export async function benchClusterClient(cluster: TestCluster): Promise<ClusterClient> {
  const cfg = await readClientConfig(cluster.server.configPath);
  const { Cluster } = loadProto().bramble.v1;
  return new Cluster(cfg.server, clientCredentials(cfg), channelOptions(cfg.server));
}

/** Waits, board by board, until its Node is Ready and `also` (e.g. "the image is there") holds. */
export async function waitForBoardsReady(
  cluster: TestCluster, also?: { what: string; check: (board: ClusterBoard) => Promise<boolean> },
): Promise<void> {
  for (const b of cluster.boards) {
    await waitFor(`board ${b.nodeName} to be Ready${also ? ` ${also.what}` : ''}`, 90_000, async () => {
      const node = await cluster.get<NodeObject>('node', b.nodeName);
      const ready = isConditionTrue(node?.status?.conditions, 'Ready');
      return ready && (!also || (await also.check(b))) ? true : undefined;
    }, 250);
  }
}
