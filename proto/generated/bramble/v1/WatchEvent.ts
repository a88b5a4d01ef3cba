// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchEvent {
  'type'?: (string);
  'object'?: (string);
  'revision'?: (number | string | Long);
}

export interface WatchEvent__Output {
  'type': (string);
  'object': (string);
  'revision': (number);
}
