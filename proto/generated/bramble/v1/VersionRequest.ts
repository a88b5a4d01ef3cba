// Original file: proto/bramble.proto


export interface VersionRequest {
}

export interface VersionRequest__Output {
}
