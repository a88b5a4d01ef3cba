// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface CreateTokenRequest {
  'ttlSeconds'?: (number | string | Long);
  'description'?: (string);
}

export interface CreateTokenRequest__Output {
  'ttlSeconds': (number);
  'description': (string);
}
