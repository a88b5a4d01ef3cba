// Original file: proto/bramble.proto

import type { ApplyResult as _bramble_v1_ApplyResult, ApplyResult__Output as _bramble_v1_ApplyResult__Output } from '../../bramble/v1/ApplyResult.js';
import type { Long } from '@grpc/proto-loader';

export interface ApplyResponse {
  'results'?: (_bramble_v1_ApplyResult)[];
  'revision'?: (number | string | Long);
}

export interface ApplyResponse__Output {
  'results': (_bramble_v1_ApplyResult__Output)[];
  'revision': (number);
}
