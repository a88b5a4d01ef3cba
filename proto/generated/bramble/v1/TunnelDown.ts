// Original file: proto/bramble.proto

import type { LogsRequest as _bramble_v1_LogsRequest, LogsRequest__Output as _bramble_v1_LogsRequest__Output } from '../../bramble/v1/LogsRequest.js';
import type { ImageChunk as _bramble_v1_ImageChunk, ImageChunk__Output as _bramble_v1_ImageChunk__Output } from '../../bramble/v1/ImageChunk.js';
import type { CancelRequest as _bramble_v1_CancelRequest, CancelRequest__Output as _bramble_v1_CancelRequest__Output } from '../../bramble/v1/CancelRequest.js';
import type { TopRequest as _bramble_v1_TopRequest, TopRequest__Output as _bramble_v1_TopRequest__Output } from '../../bramble/v1/TopRequest.js';
import type { ExecRequest as _bramble_v1_ExecRequest, ExecRequest__Output as _bramble_v1_ExecRequest__Output } from '../../bramble/v1/ExecRequest.js';
import type { Long } from '@grpc/proto-loader';

export interface TunnelDown {
  'requestId'?: (number | string | Long);
  'logs'?: (_bramble_v1_LogsRequest | null);
  'image'?: (_bramble_v1_ImageChunk | null);
  'cancel'?: (_bramble_v1_CancelRequest | null);
  'top'?: (_bramble_v1_TopRequest | null);
  'exec'?: (_bramble_v1_ExecRequest | null);
  'execOutputAcked'?: (number | string | Long);
  'request'?: "logs"|"image"|"cancel"|"top"|"exec"|"execOutputAcked";
}

export interface TunnelDown__Output {
  'requestId': (number);
  'logs'?: (_bramble_v1_LogsRequest__Output | null);
  'image'?: (_bramble_v1_ImageChunk__Output | null);
  'cancel'?: (_bramble_v1_CancelRequest__Output | null);
  'top'?: (_bramble_v1_TopRequest__Output | null);
  'exec'?: (_bramble_v1_ExecRequest__Output | null);
  'execOutputAcked'?: (number);
  'request'?: "logs"|"image"|"cancel"|"top"|"exec"|"execOutputAcked";
}
