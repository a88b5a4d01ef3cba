// Original file: proto/bramble.proto


export interface SetClusterCaRequest {
  'step'?: (string);
  'caPem'?: (string);
  'caKeyPem'?: (string);
  'previousUntil'?: (string);
}

export interface SetClusterCaRequest__Output {
  'step': (string);
  'caPem': (string);
  'caKeyPem': (string);
  'previousUntil': (string);
}
