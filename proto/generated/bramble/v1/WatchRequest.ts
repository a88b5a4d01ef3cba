// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchRequest {
  'kind'?: (string);
  'namespace'?: (string);
  'fromRevision'?: (number | string | Long);
  'labelSelector'?: (string);
}

export interface WatchRequest__Output {
  'kind': (string);
  'namespace': (string);
  'fromRevision': (number);
  'labelSelector': (string);
}
