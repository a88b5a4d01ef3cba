// Original file: proto/bramble.proto

import type { RaftMessageType as _bramble_v1_RaftMessageType, RaftMessageType__Output as _bramble_v1_RaftMessageType__Output } from '../../bramble/v1/RaftMessageType.js';
import type { RaftEntry as _bramble_v1_RaftEntry, RaftEntry__Output as _bramble_v1_RaftEntry__Output } from '../../bramble/v1/RaftEntry.js';
import type { RaftSnapshotMeta as _bramble_v1_RaftSnapshotMeta, RaftSnapshotMeta__Output as _bramble_v1_RaftSnapshotMeta__Output } from '../../bramble/v1/RaftSnapshotMeta.js';
import type { Long } from '@grpc/proto-loader';

export interface RaftMessage {
  'type'?: (_bramble_v1_RaftMessageType);
  'from'?: (string);
  'to'?: (string);
  'term'?: (number | string | Long);
  'logTerm'?: (number | string | Long);
  'index'?: (number | string | Long);
  'entries'?: (_bramble_v1_RaftEntry)[];
  'commit'?: (number | string | Long);
  'reject'?: (boolean);
  'rejectHint'?: (number | string | Long);
  'snapshot'?: (_bramble_v1_RaftSnapshotMeta | null);
  'context'?: (Buffer | Uint8Array | string);
}

export interface RaftMessage__Output {
  'type': (_bramble_v1_RaftMessageType__Output);
  'from': (string);
  'to': (string);
  'term': (number);
  'logTerm': (number);
  'index': (number);
  'entries': (_bramble_v1_RaftEntry__Output)[];
  'commit': (number);
  'reject': (boolean);
  'rejectHint': (number);
  'snapshot': (_bramble_v1_RaftSnapshotMeta__Output | null);
  'context': (Buffer);
}
