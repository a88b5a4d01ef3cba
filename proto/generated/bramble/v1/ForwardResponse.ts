// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface ForwardResponse {
  'revision'?: (number | string | Long);
  'objects'?: (string)[];
}

export interface ForwardResponse__Output {
  'revision': (number);
  'objects': (string)[];
}
