// Original file: proto/bramble.proto


export interface RenewCertificateRequest {
  'csrPem'?: (string);
}

export interface RenewCertificateRequest__Output {
  'csrPem': (string);
}
