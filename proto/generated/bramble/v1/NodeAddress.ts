// Original file: proto/bramble.proto


export interface NodeAddress {
  'type'?: (string);
  'address'?: (string);
}

export interface NodeAddress__Output {
  'type': (string);
  'address': (string);
}
