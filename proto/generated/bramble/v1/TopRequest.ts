// Original file: proto/bramble.proto


export interface TopRequest {
  'what'?: (string);
  'namespace'?: (string);
}

export interface TopRequest__Output {
  'what': (string);
  'namespace': (string);
}
