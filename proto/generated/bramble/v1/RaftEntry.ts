// Original file: proto/bramble.proto

import type { RaftEntryType as _bramble_v1_RaftEntryType, RaftEntryType__Output as _bramble_v1_RaftEntryType__Output } from '../../bramble/v1/RaftEntryType.js';
import type { Long } from '@grpc/proto-loader';

export interface RaftEntry {
  'term'?: (number | string | Long);
  'index'?: (number | string | Long);
  'type'?: (_bramble_v1_RaftEntryType);
  'data'?: (Buffer | Uint8Array | string);
}

export interface RaftEntry__Output {
  'term': (number);
  'index': (number);
  'type': (_bramble_v1_RaftEntryType__Output);
  'data': (Buffer);
}
