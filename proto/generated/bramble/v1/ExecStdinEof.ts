// Original file: proto/bramble.proto


export interface ExecStdinEof {
}

export interface ExecStdinEof__Output {
}
