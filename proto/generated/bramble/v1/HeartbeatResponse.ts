// Original file: proto/bramble.proto


export interface HeartbeatResponse {
  'intervalSeconds'?: (number);
  'servers'?: (string)[];
}

export interface HeartbeatResponse__Output {
  'intervalSeconds': (number);
  'servers': (string)[];
}
