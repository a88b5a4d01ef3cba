// Original file: proto/bramble.proto


export interface WatchAssignmentsRequest {
  'nodeName'?: (string);
}

export interface WatchAssignmentsRequest__Output {
  'nodeName': (string);
}
