// Original file: proto/bramble.proto


export interface RaftSendResponse {
}

export interface RaftSendResponse__Output {
}
