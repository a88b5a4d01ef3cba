// Original file: proto/bramble.proto

import type { PodFigures as _bramble_v1_PodFigures, PodFigures__Output as _bramble_v1_PodFigures__Output } from '../../bramble/v1/PodFigures.js';
import type { ExecResponse as _bramble_v1_ExecResponse, ExecResponse__Output as _bramble_v1_ExecResponse__Output } from '../../bramble/v1/ExecResponse.js';
import type { Long } from '@grpc/proto-loader';

export interface TunnelUp {
  'nodeName'?: (string);
  'requestId'?: (number | string | Long);
  'data'?: (Buffer | Uint8Array | string);
  'done'?: (boolean);
  'error'?: (string);
  'pods'?: (_bramble_v1_PodFigures)[];
  'exec'?: (_bramble_v1_ExecResponse | null);
  'execStdinAcked'?: (number | string | Long);
}

export interface TunnelUp__Output {
  'nodeName': (string);
  'requestId': (number);
  'data': (Buffer);
  'done': (boolean);
  'error': (string);
  'pods': (_bramble_v1_PodFigures__Output)[];
  'exec': (_bramble_v1_ExecResponse__Output | null);
  'execStdinAcked': (number);
}
