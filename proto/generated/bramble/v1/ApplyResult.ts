// Original file: proto/bramble.proto


export interface ApplyResult {
  'kind'?: (string);
  'namespace'?: (string);
  'name'?: (string);
  'action'?: (string);
  'object'?: (string);
}

export interface ApplyResult__Output {
  'kind': (string);
  'namespace': (string);
  'name': (string);
  'action': (string);
  'object': (string);
}
