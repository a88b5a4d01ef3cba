// Original file: proto/bramble.proto


export interface DeleteResponse {
  'object'?: (string);
}

export interface DeleteResponse__Output {
  'object': (string);
}
