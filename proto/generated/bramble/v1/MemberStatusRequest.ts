// Original file: proto/bramble.proto


export interface MemberStatusRequest {
}

export interface MemberStatusRequest__Output {
}
