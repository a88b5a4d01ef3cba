// Original file: proto/bramble.proto

import type { RaftMessage as _bramble_v1_RaftMessage, RaftMessage__Output as _bramble_v1_RaftMessage__Output } from '../../bramble/v1/RaftMessage.js';

export interface RaftBatch {
  'messages'?: (_bramble_v1_RaftMessage)[];
}

export interface RaftBatch__Output {
  'messages': (_bramble_v1_RaftMessage__Output)[];
}
