// Original file: proto/bramble.proto


export interface ClusterStatusRequest {
}

export interface ClusterStatusRequest__Output {
}
