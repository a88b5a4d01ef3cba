// Original file: proto/bramble.proto


export interface RotateClusterCaRequest {
  'overlapSeconds'?: (number | string);
}

export interface RotateClusterCaRequest__Output {
  'overlapSeconds': (number);
}
