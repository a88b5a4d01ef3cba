// Original file: proto/bramble.proto


export interface ListTokensRequest {
}

export interface ListTokensRequest__Output {
}
