// Original file: proto/bramble.proto

import type { RaftMessage as _bramble_v1_RaftMessage, RaftMessage__Output as _bramble_v1_RaftMessage__Output } from '../../bramble/v1/RaftMessage.js';

export interface RaftSnapshotFrame {
  'message'?: (_bramble_v1_RaftMessage | null);
  'chunk'?: (Buffer | Uint8Array | string);
  'frame'?: "message"|"chunk";
}

export interface RaftSnapshotFrame__Output {
  'message'?: (_bramble_v1_RaftMessage__Output | null);
  'chunk'?: (Buffer);
  'frame'?: "message"|"chunk";
}
