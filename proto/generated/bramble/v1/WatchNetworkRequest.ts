// Original file: proto/bramble.proto


export interface WatchNetworkRequest {
  'nodeName'?: (string);
}

export interface WatchNetworkRequest__Output {
  'nodeName': (string);
}
