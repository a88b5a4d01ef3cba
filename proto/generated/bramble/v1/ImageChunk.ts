// Original file: proto/bramble.proto


export interface ImageChunk {
  'node'?: (string);
  'data'?: (Buffer | Uint8Array | string);
}

export interface ImageChunk__Output {
  'node': (string);
  'data': (Buffer);
}
