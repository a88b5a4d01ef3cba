// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface LogsRequest {
  'namespace'?: (string);
  'pod'?: (string);
  'container'?: (string);
  'follow'?: (boolean);
  'tailLines'?: (number | string | Long);
  'previous'?: (boolean);
}

export interface LogsRequest__Output {
  'namespace': (string);
  'pod': (string);
  'container': (string);
  'follow': (boolean);
  'tailLines': (number);
  'previous': (boolean);
}
