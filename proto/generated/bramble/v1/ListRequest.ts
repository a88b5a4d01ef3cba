// Original file: proto/bramble.proto


export interface ListRequest {
  'kind'?: (string);
  'namespace'?: (string);
  'labelSelector'?: (string);
  'consistency'?: (string);
}

export interface ListRequest__Output {
  'kind': (string);
  'namespace': (string);
  'labelSelector': (string);
  'consistency': (string);
}
