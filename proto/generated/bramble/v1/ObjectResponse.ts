// Original file: proto/bramble.proto


export interface ObjectResponse {
  'object'?: (string);
}

export interface ObjectResponse__Output {
  'object': (string);
}
