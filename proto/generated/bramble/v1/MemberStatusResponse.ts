// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface MemberStatusResponse {
  'name'?: (string);
  'role'?: (string);
  'term'?: (number | string | Long);
  'leader'?: (string);
  'commitIndex'?: (number | string | Long);
  'appliedIndex'?: (number | string | Long);
  'lastIndex'?: (number | string | Long);
  'revision'?: (number | string | Long);
}

export interface MemberStatusResponse__Output {
  'name': (string);
  'role': (string);
  'term': (number);
  'leader': (string);
  'commitIndex': (number);
  'appliedIndex': (number);
  'lastIndex': (number);
  'revision': (number);
}
