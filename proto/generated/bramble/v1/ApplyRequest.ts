// Original file: proto/bramble.proto


export interface ApplyRequest {
  'objects'?: (string)[];
  'dryRun'?: (boolean);
}

export interface ApplyRequest__Output {
  'objects': (string)[];
  'dryRun': (boolean);
}
