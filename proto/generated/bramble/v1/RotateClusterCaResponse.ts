// Original file: proto/bramble.proto


export interface RotateClusterCaResponse {
  'previousHash'?: (string);
  'newHash'?: (string);
  'previousUntil'?: (string);
  'members'?: (string)[];
  'resumed'?: (boolean);
}

export interface RotateClusterCaResponse__Output {
  'previousHash': (string);
  'newHash': (string);
  'previousUntil': (string);
  'members': (string)[];
  'resumed': (boolean);
}
