// Original file: proto/bramble.proto


export interface RotateSecretsEncryptionRequest {
  'keepOldKeys'?: (boolean);
}

export interface RotateSecretsEncryptionRequest__Output {
  'keepOldKeys': (boolean);
}
