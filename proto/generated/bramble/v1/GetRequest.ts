// Original file: proto/bramble.proto


export interface GetRequest {
  'kind'?: (string);
  'namespace'?: (string);
  'name'?: (string);
  'consistency'?: (string);
}

export interface GetRequest__Output {
  'kind': (string);
  'namespace': (string);
  'name': (string);
  'consistency': (string);
}
