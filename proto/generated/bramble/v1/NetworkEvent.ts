// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface NetworkEvent {
  'type'?: (string);
  'object'?: (string);
  'revision'?: (number | string | Long);
}

export interface NetworkEvent__Output {
  'type': (string);
  'object': (string);
  'revision': (number);
}
