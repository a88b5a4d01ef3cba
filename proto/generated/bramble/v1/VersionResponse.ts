// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface VersionResponse {
  'version'?: (string);
  'revision'?: (number | string | Long);
  'objectCount'?: (number | string | Long);
  'nodeName'?: (string);
  'gitCommit'?: (string);
}

export interface VersionResponse__Output {
  'version': (string);
  'revision': (number);
  'objectCount': (number);
  'nodeName': (string);
  'gitCommit': (string);
}
