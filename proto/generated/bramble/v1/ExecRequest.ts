// Original file: proto/bramble.proto

import type { ExecStart as _bramble_v1_ExecStart, ExecStart__Output as _bramble_v1_ExecStart__Output } from '../../bramble/v1/ExecStart.js';
import type { ExecStdinEof as _bramble_v1_ExecStdinEof, ExecStdinEof__Output as _bramble_v1_ExecStdinEof__Output } from '../../bramble/v1/ExecStdinEof.js';
import type { TerminalSize as _bramble_v1_TerminalSize, TerminalSize__Output as _bramble_v1_TerminalSize__Output } from '../../bramble/v1/TerminalSize.js';

export interface ExecRequest {
  'start'?: (_bramble_v1_ExecStart | null);
  'stdin'?: (Buffer | Uint8Array | string);
  'stdinEof'?: (_bramble_v1_ExecStdinEof | null);
  'resize'?: (_bramble_v1_TerminalSize | null);
  'request'?: "start"|"stdin"|"stdinEof"|"resize";
}

export interface ExecRequest__Output {
  'start'?: (_bramble_v1_ExecStart__Output | null);
  'stdin'?: (Buffer);
  'stdinEof'?: (_bramble_v1_ExecStdinEof__Output | null);
  'resize'?: (_bramble_v1_TerminalSize__Output | null);
  'request'?: "start"|"stdin"|"stdinEof"|"resize";
}
