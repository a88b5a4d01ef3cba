// The cluster CA's life in a running server: a rotation run here across every
// member (`bramble certificate rotate-ca` on a replicated control plane), the steps
// of one run by another member, a single server's data dir rotated on disk by the
// CLI, and the end of a rotation's overlap. Each change of CA moves the
// certificates through the renewal loop (serving, replica, admin.conf), so no
// member restarts.
import path from 'node:path';
import type { Clock, Timer } from '../proto/util/clock.js';
import type { CertRenewalLoop } from '../proto/util/cert-renewal.js';
import type { Logger } from '../proto/util/log.js';
import type { RotateClusterCaResponse } from '../proto/load.js';
import { rotateCaOnEveryMember, takeCaStep, type CaPeers, type CaStep } from './pki/ca-rotation.js';
import { certificateHash, readCaRotation, type CaRotationBundle, type ClusterPki } from './pki/pki-ca.js';
import type { TokenRegistry } from './pki/token-registry.js';

/** How often a running server checks whether its CA was rotated on disk (a single server's `rotate-ca`). */
const CA_ON_DISK_CHECK_MS = 60_000;
/** After a rotation's overlap ends, the serving certificate moves to the new CA this soon. */
const OVERLAP_END_MARGIN_MS = 1_000;

export interface ServerCaOptions {
  pki: ClusterPki;
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** A member of a replicated control plane: its name, the other members, and where their steps arrive. */
  member?: {
    name: string;
    peers: CaPeers;
    acceptClusterCa(take: (step: CaStep, rotation: CaRotationBundle) => Promise<string>): void;
  };
}

export class ServerCa {
  private renewal: CertRenewalLoop | undefined;
  private tokens: TokenRegistry | undefined;
  private overlapEnd: Timer | undefined;
  private onDisk: Timer | undefined;
  /** Cluster.RotateClusterCa; a single server has none (its data dir is rotated by the CLI). */
  readonly rotateClusterCa: ((overlapMs: number) => Promise<RotateClusterCaResponse>) | undefined;

  constructor(private readonly opts: ServerCaOptions) {
    const { pki, logger, member } = opts;
    member?.acceptClusterCa(async (step, rotation) => {
      if (await takeCaStep(pki, step, rotation)) {
        logger.info({ caHash: certificateHash(rotation.caPem), previousUntil: rotation.previousUntil }, 'took up the cluster CA rotation: signing with the new CA, trusting the previous one until the overlap ends');
        await this.changed();
      }
      return certificateHash(pki.signingCaPem);
    });
    this.rotateClusterCa = member ? async (overlapMs) => {
      try {
        return await rotateCaOnEveryMember({
          pki, self: member.name, peers: member.peers, clock: opts.clock, logger: logger.child({ component: 'ca-rotation' }),
          current: () => readCaRotation(opts.dataDir),
        }, { overlapMs });
      } finally {
        // This member may have adopted even when another did not take the CA.
        await this.changed();
      }
    } : undefined;
  }

  /**
   * Once the renewal loop runs: awaits the end of an overlap under way, and watches tls/ for a
   * rotation made on disk. A step taken before this is judged by the loop's first look.
   */
  start(renewal: CertRenewalLoop, tokens: TokenRegistry): void {
    this.renewal = renewal;
    this.tokens = tokens;
    this.awaitOverlapEnd();
    this.onDisk = this.opts.clock.setInterval(() => {
      this.opts.pki.reloadCa()
        .then(async (changed) => {
          if (!changed) return;
          this.opts.logger.info({ caFile: path.join(this.opts.dataDir, 'tls', 'ca.crt'), caHash: certificateHash(this.opts.pki.signingCaPem) }, 'the cluster CA was rotated on disk: took it up without a restart');
          await this.changed();
        })
        .catch((err: unknown) => this.opts.logger.warn({ err }, 'the cluster CA on disk could not be read'));
      this.opts.pki.dropStaleStage()
        .then((dropped) => {
          if (dropped === undefined) return;
          this.opts.logger.error(
            { stagedCaHash: dropped, signingCaHash: certificateHash(this.opts.pki.signingCaPem) },
            'a cluster CA staged here by a rotation was never adopted here, and the overlap it was staged for has ended: it is no longer trusted. ' +
            'If the other members took it, this member can no longer reach them: join it again',
          );
        })
        .catch((err: unknown) => this.opts.logger.warn({ err }, 'a staged cluster CA could not be dropped'));
    }, CA_ON_DISK_CHECK_MS);
  }

  stop(): void {
    this.overlapEnd?.cancel();
    this.onDisk?.cancel();
    this.overlapEnd = undefined;
    this.onDisk = undefined;
    this.renewal = undefined;
  }

  /** The certificates move to the CA that signs now; the overlap's end is awaited anew. */
  private async changed(): Promise<void> {
    if (!this.renewal) return;
    await this.renewal.check();
    this.awaitOverlapEnd();
  }

  // When the overlap ends the previous CA is no longer trusted: the serving certificate moves to the
  // new CA then, not at the loop's next hourly look, and the token file names the new CA.
  private awaitOverlapEnd(): void {
    this.overlapEnd?.cancel();
    this.overlapEnd = undefined;
    const until = this.opts.pki.rotationUntil();
    if (until === undefined || !this.renewal) return;
    const renewal = this.renewal;
    const { clock, dataDir, logger } = this.opts;
    this.overlapEnd = clock.setTimeout(() => {
      this.overlapEnd = undefined;
      renewal.check()
        .then(() => this.tokens!.ensureDefaultToken(dataDir))
        .then((t) => logger.info({ tokenFile: path.join(dataDir, 'token'), replaced: t.created }, 'the CA rotation\'s overlap ended: serving from the new CA, which alone is trusted now'))
        .catch((err: unknown) => logger.warn({ err }, 'the end of the CA rotation\'s overlap could not be completed: the renewal loop tries again'));
    }, Math.max(0, until - clock.now()) + OVERLAP_END_MARGIN_MS);
  }
}
