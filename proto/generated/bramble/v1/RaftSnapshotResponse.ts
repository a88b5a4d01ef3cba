// Original file: proto/bramble.proto


export interface RaftSnapshotResponse {
}

export interface RaftSnapshotResponse__Output {
}
