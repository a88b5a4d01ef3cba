// Original file: proto/bramble.proto


export interface HeartbeatResponse {
  'intervalSeconds'?: (number);
  'servers'?: (string)[];
  'caBundleSha256'?: (string);
}

export interface HeartbeatResponse__Output {
  'intervalSeconds': (number);
  'servers': (string)[];
  'caBundleSha256': (string);
}
