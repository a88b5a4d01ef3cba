// Original file: proto/bramble.proto


export interface Resources {
  'cpu'?: (string);
  'memory'?: (string);
  'pods'?: (string);
}

export interface Resources__Output {
  'cpu': (string);
  'memory': (string);
  'pods': (string);
}
