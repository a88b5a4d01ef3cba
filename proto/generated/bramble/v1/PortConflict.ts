// Original file: proto/bramble.proto


export interface PortConflict {
  'namespace'?: (string);
  'service'?: (string);
  'protocol'?: (string);
  'port'?: (number);
}

export interface PortConflict__Output {
  'namespace': (string);
  'service': (string);
  'protocol': (string);
  'port': (number);
}
