// Original file: proto/bramble.proto

import type { TerminalSize as _bramble_v1_TerminalSize, TerminalSize__Output as _bramble_v1_TerminalSize__Output } from '../../bramble/v1/TerminalSize.js';

export interface ExecStart {
  'namespace'?: (string);
  'pod'?: (string);
  'container'?: (string);
  'command'?: (string)[];
  'stdin'?: (boolean);
  'tty'?: (boolean);
  'size'?: (_bramble_v1_TerminalSize | null);
  'podUid'?: (string);
}

export interface ExecStart__Output {
  'namespace': (string);
  'pod': (string);
  'container': (string);
  'command': (string)[];
  'stdin': (boolean);
  'tty': (boolean);
  'size': (_bramble_v1_TerminalSize__Output | null);
  'podUid': (string);
}
