// The admin's client config on a member's own board (<data dir>/admin.conf): its
// certificate is renewed by the member before it expires, and moved to a new CA
// after a rotation, as the serving and replica certificates are. Every write of the
// file goes through one queue, so the renewal and the refresh of the members list
// (server.ts) never lose each other's change; each write keeps the file's server
// list and is atomic and 0600 (writeClientConfig).
import { existsSync } from 'node:fs';
import { certValidity, type RenewableCert } from '../../proto/util/cert-renewal.js';
import { ADMIN_COMMON_NAME, ADMIN_ORGANIZATION } from './auth.js';
import { readClientConfig, writeClientConfig, type ClientConfig } from './client-config.js';
import type { ClusterPki } from './pki-ca.js';

export interface AdminConf {
  readonly file: string;
  /** Runs `fn` alone among every writer of the file. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** For the renewal loop: due by its dates, or when not from the CA that signs now or not trusting what the cluster trusts. */
  renewal: RenewableCert;
}

export function adminConf(file: string, pki: Pick<ClusterPki, 'caPem' | 'issueClientCert' | 'signedBySigningCa'>): AdminConf {
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn);
    tail = run.catch(() => undefined);
    return run;
  };
  // What the last look read; undefined while there is no admin.conf (nothing to renew).
  let seen: ClientConfig | undefined;
  return {
    file,
    exclusive,
    renewal: {
      name: 'admin',
      prepare: async () => {
        seen = existsSync(file) ? await readClientConfig(file) : undefined;
      },
      validity: () => (seen ? certValidity(seen.cert) : { notBefore: 0, notAfter: Number.POSITIVE_INFINITY }),
      stale: () => seen !== undefined && (seen.ca !== pki.caPem || !pki.signedBySigningCa(seen.cert)),
      renew: () => exclusive(async () => {
        const issued = await pki.issueClientCert(ADMIN_COMMON_NAME, ADMIN_ORGANIZATION);
        // Read inside the queue and after the (slow) key is made, just before the write: the
        // members list may have changed since the look, here or by the CLI of this board.
        const cfg = await readClientConfig(file);
        const next: ClientConfig = { ...cfg, ca: pki.caPem, cert: issued.certPem, key: issued.keyPem };
        await writeClientConfig(file, next);
        seen = next;
      }),
    },
  };
}
