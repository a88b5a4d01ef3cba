// Original file: proto/bramble.proto

import type { RaftConfState as _bramble_v1_RaftConfState, RaftConfState__Output as _bramble_v1_RaftConfState__Output } from '../../bramble/v1/RaftConfState.js';
import type { Long } from '@grpc/proto-loader';

export interface RaftSnapshotMeta {
  'index'?: (number | string | Long);
  'term'?: (number | string | Long);
  'confState'?: (_bramble_v1_RaftConfState | null);
}

export interface RaftSnapshotMeta__Output {
  'index': (number);
  'term': (number);
  'confState': (_bramble_v1_RaftConfState__Output | null);
}
