// Original file: proto/bramble.proto


export interface HeartbeatResponse {
  'intervalSeconds'?: (number);
}

export interface HeartbeatResponse__Output {
  'intervalSeconds': (number);
}
