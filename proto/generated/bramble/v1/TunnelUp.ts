// Original file: proto/bramble.proto

import type { PodFigures as _bramble_v1_PodFigures, PodFigures__Output as _bramble_v1_PodFigures__Output } from './PodFigures.js';
import type { Long } from '@grpc/proto-loader';

export interface TunnelUp {
  'nodeName'?: (string);
  'requestId'?: (number | string | Long);
  'data'?: (Buffer | Uint8Array | string);
  'done'?: (boolean);
  'error'?: (string);
  'pods'?: (_bramble_v1_PodFigures)[];
}

export interface TunnelUp__Output {
  'nodeName': (string);
  'requestId': (number);
  'data': (Buffer);
  'done': (boolean);
  'error': (string);
  'pods': (_bramble_v1_PodFigures__Output)[];
}
