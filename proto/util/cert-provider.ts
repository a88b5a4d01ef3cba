// A grpc-js certificate provider whose identity and trusted CAs can be replaced
// while servers and channels use it: a server built on it calls setSecureContext
// on every update, so new handshakes get the new certificate and connections
// already open keep theirs; a channel built on it uses the update for its next
// connection.
import * as grpc from '@grpc/grpc-js';

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

export interface ProvidedIdentity {
  /** The leaf first, then any intermediates. */
  certPem: string;
  keyPem: string;
}

export class MutableCertificateProvider implements grpc.experimental.CertificateProvider {
  private ca: Buffer;
  private identity: { certificate: Buffer; privateKey: Buffer };
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(caPem: string, identity: ProvidedIdentity) {
    this.ca = Buffer.from(caPem);
    this.identity = toUpdate(identity);
  }

  // grpc-js registers these listeners before its own watcher, so an update
  // delivered synchronously would be missed: deliver on the next microtask.
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    queueMicrotask(() => {
      if (this.caListeners.has(listener)) listener({ caCertificate: this.ca });
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.identityListeners.has(listener)) listener(this.identity);
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  setIdentity(identity: ProvidedIdentity): void {
    this.identity = toUpdate(identity);
    for (const l of [...this.identityListeners]) l(this.identity);
  }

  /** The CAs peers' certificates are checked against (one PEM, several certificates during a CA rotation). */
  setCa(caPem: string): void {
    this.ca = Buffer.from(caPem);
    for (const l of [...this.caListeners]) l({ caCertificate: this.ca });
  }

  /**
   * Server credentials on this provider. A non-null CA provider makes the server
   * request client certificates; `false` lets a call without one reach the
   * handler, which refuses it with UNAUTHENTICATED instead of failing the handshake.
   */
  serverCredentials(): grpc.ServerCredentials {
    // The exported function's parameter names do not match the constructor it
    // calls (identity first, then CA); one provider serving both makes the order irrelevant.
    return grpc.experimental.createCertificateProviderServerCredentials(this, this, false);
  }

  /** mTLS channel credentials on this provider; the CA is pinned, so host names are not checked. */
  channelCredentials(): grpc.ChannelCredentials {
    return grpc.experimental.createCertificateProviderChannelCredentials(this, this, { checkServerIdentity: () => undefined });
  }
}

function toUpdate(identity: ProvidedIdentity): { certificate: Buffer; privateKey: Buffer } {
  return { certificate: Buffer.from(identity.certPem), privateKey: Buffer.from(identity.keyPem) };
}
