// Original file: proto/bramble.proto


export interface ImportImageResponse {
  'images'?: (string)[];
}

export interface ImportImageResponse__Output {
  'images': (string)[];
}
