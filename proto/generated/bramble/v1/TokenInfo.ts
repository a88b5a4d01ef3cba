// Original file: proto/bramble.proto


export interface TokenInfo {
  'id'?: (string);
  'token'?: (string);
  'expires'?: (string);
  'description'?: (string);
  'created'?: (string);
}

export interface TokenInfo__Output {
  'id': (string);
  'token': (string);
  'expires': (string);
  'description': (string);
  'created': (string);
}
