// Original file: proto/bramble.proto


export interface TerminalSize {
  'columns'?: (number);
  'rows'?: (number);
}

export interface TerminalSize__Output {
  'columns': (number);
  'rows': (number);
}
