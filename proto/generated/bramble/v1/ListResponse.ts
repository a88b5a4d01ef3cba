// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface ListResponse {
  'objects'?: (string)[];
  'revision'?: (number | string | Long);
}

export interface ListResponse__Output {
  'objects': (string)[];
  'revision': (number);
}
