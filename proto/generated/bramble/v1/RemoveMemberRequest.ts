// Original file: proto/bramble.proto


export interface RemoveMemberRequest {
  'name'?: (string);
}

export interface RemoveMemberRequest__Output {
  'name': (string);
}
