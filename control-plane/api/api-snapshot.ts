// Cluster.SnapshotStore: the store at one revision, streamed in the snapshot
// format (store-snapshot.ts) to `bramble store snapshot save`. The state is
// taken synchronously, between two commits, so it is consistent at one
// revision; its objects are the frozen ones the store holds, so writes that
// commit while it streams replace them without touching what is being sent.
import type * as grpc from '@grpc/grpc-js';
import { BrambleError } from '../../proto/util/errors.js';
import type { Clock } from '../../proto/util/clock.js';
import type { SnapshotChunk, SnapshotStoreRequest__Output } from '../../proto/load.js';
import type { CallWithAuth } from '../pki/auth.js';
import type { StoreSnapshot } from '../store/store-state.js';
import { encodeSnapshot } from '../store/store-snapshot.js';
import { serverStream, type HandlerContext } from './grpc-util.js';

export interface SnapshotSource {
  /**
   * The committed state of the store as it is on disk: the raw store's, beneath any
   * decorator, so encrypted Secrets stay encrypted in the snapshot.
   */
  snapshot(): StoreSnapshot;
  /** This server's name, written in the snapshot's header. */
  serverName: string;
  clock: Clock;
}

type Call = grpc.ServerWritableStream<SnapshotStoreRequest__Output, SnapshotChunk>;

/** Resolves when the call can take more, or has ended (then the caller sees call.cancelled or stops). */
function drained(call: Call): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
    call.on('close', done);
  });
}

export function snapshotHandler(
  ctx: HandlerContext,
  opts: { authorize: (call: CallWithAuth) => void; source: SnapshotSource | undefined },
): grpc.handleServerStreamingCall<SnapshotStoreRequest__Output, SnapshotChunk> {
  return serverStream(ctx, 'SnapshotStore', async (call) => {
    opts.authorize(call);
    const { source } = opts;
    if (!source) throw new BrambleError('UNAVAILABLE', 'this server does not serve snapshots of its store');
    const snapshot = source.snapshot();
    let bytes = 0;
    let closed = false;
    call.once('close', () => { closed = true; });
    const chunks = encodeSnapshot(snapshot, { createdAt: new Date(source.clock.now()).toISOString(), server: source.serverName });
    for await (const data of chunks) {
      if (call.cancelled || closed) return;
      bytes += data.length;
      // Back-pressure: a slow client (a Pi writing to an SD card) must not make the server buffer the whole store.
      if (!call.write({ data })) await drained(call);
    }
    ctx.logger.info({ revision: snapshot.revision, objects: snapshot.objects.length, events: snapshot.events.length, bytes }, 'store snapshot sent');
  });
}
