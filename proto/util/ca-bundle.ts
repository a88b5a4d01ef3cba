// A CA bundle (one PEM text, one or more certificates) and the hash by which the
// control plane and the agents compare theirs: over the certificates' DER, in
// order, so two spellings of the same PEM (line breaks, a trailing newline) agree.
import { createHash, X509Certificate } from 'node:crypto';

export function splitPemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)?.map((c) => c + '\n') ?? [];
}

/** sha256 (hex) over each certificate's DER in turn; certificates that do not parse count for nothing. */
export function caBundleSha256(pem: string): string {
  const h = createHash('sha256');
  for (const c of splitPemCertificates(pem)) {
    try {
      h.update(new X509Certificate(c).raw);
    } catch {
      // Unparseable text is no certificate either side trusts.
    }
  }
  return h.digest('hex');
}
