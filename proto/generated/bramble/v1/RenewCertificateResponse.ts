// Original file: proto/bramble.proto


export interface RenewCertificateResponse {
  'certificatePem'?: (string);
  'caPem'?: (string);
}

export interface RenewCertificateResponse__Output {
  'certificatePem': (string);
  'caPem': (string);
}
