// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface MemberState {
  'name'?: (string);
  'address'?: (string);
  'role'?: (string);
  'term'?: (number | string | Long);
  'commitIndex'?: (number | string | Long);
  'appliedIndex'?: (number | string | Long);
  'lag'?: (number | string | Long);
  'lastContact'?: (string);
  'error'?: (string);
}

export interface MemberState__Output {
  'name': (string);
  'address': (string);
  'role': (string);
  'term': (number);
  'commitIndex': (number);
  'appliedIndex': (number);
  'lag': (number);
  'lastContact': (string);
  'error': (string);
}
