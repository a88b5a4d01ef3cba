// Original file: proto/bramble.proto


export interface PodEventReport {
  'namespace'?: (string);
  'podName'?: (string);
  'podUid'?: (string);
  'fieldPath'?: (string);
  'type'?: (string);
  'reason'?: (string);
  'message'?: (string);
  'count'?: (number);
}

export interface PodEventReport__Output {
  'namespace': (string);
  'podName': (string);
  'podUid': (string);
  'fieldPath': (string);
  'type': (string);
  'reason': (string);
  'message': (string);
  'count': (number);
}
