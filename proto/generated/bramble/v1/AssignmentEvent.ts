// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface AssignmentEvent {
  'type'?: (string);
  'object'?: (string);
  'revision'?: (number | string | Long);
}

export interface AssignmentEvent__Output {
  'type': (string);
  'object': (string);
  'revision': (number);
}
