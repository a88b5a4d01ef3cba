// Original file: proto/bramble.proto

import type { LogsRequest as _bramble_v1_LogsRequest, LogsRequest__Output as _bramble_v1_LogsRequest__Output } from './LogsRequest.js';
import type { ImageChunk as _bramble_v1_ImageChunk, ImageChunk__Output as _bramble_v1_ImageChunk__Output } from './ImageChunk.js';
import type { CancelRequest as _bramble_v1_CancelRequest, CancelRequest__Output as _bramble_v1_CancelRequest__Output } from './CancelRequest.js';
import type { TopRequest as _bramble_v1_TopRequest, TopRequest__Output as _bramble_v1_TopRequest__Output } from './TopRequest.js';
import type { Long } from '@grpc/proto-loader';

export interface TunnelDown {
  'requestId'?: (number | string | Long);
  'logs'?: (_bramble_v1_LogsRequest | null);
  'image'?: (_bramble_v1_ImageChunk | null);
  'cancel'?: (_bramble_v1_CancelRequest | null);
  'top'?: (_bramble_v1_TopRequest | null);
  'request'?: "logs"|"image"|"cancel"|"top";
}

export interface TunnelDown__Output {
  'requestId': (number);
  'logs'?: (_bramble_v1_LogsRequest__Output | null);
  'image'?: (_bramble_v1_ImageChunk__Output | null);
  'cancel'?: (_bramble_v1_CancelRequest__Output | null);
  'top'?: (_bramble_v1_TopRequest__Output | null);
  'request'?: "logs"|"image"|"cancel"|"top";
}
