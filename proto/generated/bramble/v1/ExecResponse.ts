// Original file: proto/bramble.proto

import type { ExecExit as _bramble_v1_ExecExit, ExecExit__Output as _bramble_v1_ExecExit__Output } from '../../bramble/v1/ExecExit.js';

export interface ExecResponse {
  'stdout'?: (Buffer | Uint8Array | string);
  'stderr'?: (Buffer | Uint8Array | string);
  'exit'?: (_bramble_v1_ExecExit | null);
  'output'?: "stdout"|"stderr"|"exit";
}

export interface ExecResponse__Output {
  'stdout'?: (Buffer);
  'stderr'?: (Buffer);
  'exit'?: (_bramble_v1_ExecExit__Output | null);
  'output'?: "stdout"|"stderr"|"exit";
}
