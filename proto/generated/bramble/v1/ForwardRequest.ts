// Original file: proto/bramble.proto


export interface ForwardRequest {
  'commandJson'?: (string);
}

export interface ForwardRequest__Output {
  'commandJson': (string);
}
