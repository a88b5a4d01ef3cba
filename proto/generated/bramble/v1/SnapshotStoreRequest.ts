// Original file: proto/bramble.proto


export interface SnapshotStoreRequest {
}

export interface SnapshotStoreRequest__Output {
}
