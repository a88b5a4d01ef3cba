// Original file: proto/bramble.proto


export interface DeleteTokenResponse {
}

export interface DeleteTokenResponse__Output {
}
