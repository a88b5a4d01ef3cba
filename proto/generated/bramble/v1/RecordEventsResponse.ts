// Original file: proto/bramble.proto


export interface RecordEventsResponse {
  'accepted'?: (number);
}

export interface RecordEventsResponse__Output {
  'accepted': (number);
}
