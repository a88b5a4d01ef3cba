// Original file: proto/bramble.proto


export interface JoinMemberRequest {
  'token'?: (string);
  'name'?: (string);
  'address'?: (string);
}

export interface JoinMemberRequest__Output {
  'token': (string);
  'name': (string);
  'address': (string);
}
