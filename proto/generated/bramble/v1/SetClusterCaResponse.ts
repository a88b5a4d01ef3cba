// Original file: proto/bramble.proto


export interface SetClusterCaResponse {
  'signingCaHash'?: (string);
}

export interface SetClusterCaResponse__Output {
  'signingCaHash': (string);
}
