// Original file: proto/bramble.proto


export interface SetEncryptionKeysResponse {
  'activeKeyId'?: (string);
}

export interface SetEncryptionKeysResponse__Output {
  'activeKeyId': (string);
}
