// Original file: proto/bramble.proto


export interface DeleteRequest {
  'kind'?: (string);
  'namespace'?: (string);
  'name'?: (string);
  'resourceVersion'?: (string);
  'force'?: (boolean);
  'propagationPolicy'?: (string);
  'gracePeriodSeconds'?: (number);
}

export interface DeleteRequest__Output {
  'kind': (string);
  'namespace': (string);
  'name': (string);
  'resourceVersion': (string);
  'force': (boolean);
  'propagationPolicy': (string);
  'gracePeriodSeconds': (number);
}
