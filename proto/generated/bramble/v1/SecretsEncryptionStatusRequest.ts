// Original file: proto/bramble.proto


export interface SecretsEncryptionStatusRequest {
}

export interface SecretsEncryptionStatusRequest__Output {
}
