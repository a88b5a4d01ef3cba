// Original file: proto/bramble.proto


export interface JoinResponse {
  'certificatePem'?: (string);
  'caPem'?: (string);
  'podCidr'?: (string);
  'clusterCidr'?: (string);
  'serviceCidr'?: (string);
  'servers'?: (string)[];
}

export interface JoinResponse__Output {
  'certificatePem': (string);
  'caPem': (string);
  'podCidr': (string);
  'clusterCidr': (string);
  'serviceCidr': (string);
  'servers': (string)[];
}
