// Original file: proto/bramble.proto


export interface UpdatePodStatusRequest {
  'namespace'?: (string);
  'name'?: (string);
  'uid'?: (string);
  'status'?: (string);
  'finalized'?: (boolean);
}

export interface UpdatePodStatusRequest__Output {
  'namespace': (string);
  'name': (string);
  'uid': (string);
  'status': (string);
  'finalized': (boolean);
}
