// Original file: proto/bramble.proto


export interface CancelRequest {
}

export interface CancelRequest__Output {
}
