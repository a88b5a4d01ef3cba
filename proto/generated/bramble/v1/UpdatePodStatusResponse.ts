// Original file: proto/bramble.proto


export interface UpdatePodStatusResponse {
}

export interface UpdatePodStatusResponse__Output {
}
