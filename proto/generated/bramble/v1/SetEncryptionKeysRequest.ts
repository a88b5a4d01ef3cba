// Original file: proto/bramble.proto


export interface SetEncryptionKeysRequest {
  'keyFile'?: (string);
}

export interface SetEncryptionKeysRequest__Output {
  'keyFile': (string);
}
