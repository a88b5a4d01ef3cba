// Original file: proto/bramble.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { RaftBatch as _bramble_v1_RaftBatch, RaftBatch__Output as _bramble_v1_RaftBatch__Output } from '../../bramble/v1/RaftBatch.js';
import type { RaftSendResponse as _bramble_v1_RaftSendResponse, RaftSendResponse__Output as _bramble_v1_RaftSendResponse__Output } from '../../bramble/v1/RaftSendResponse.js';
import type { RaftSnapshotFrame as _bramble_v1_RaftSnapshotFrame, RaftSnapshotFrame__Output as _bramble_v1_RaftSnapshotFrame__Output } from '../../bramble/v1/RaftSnapshotFrame.js';
import type { RaftSnapshotResponse as _bramble_v1_RaftSnapshotResponse, RaftSnapshotResponse__Output as _bramble_v1_RaftSnapshotResponse__Output } from '../../bramble/v1/RaftSnapshotResponse.js';

export interface RaftClient extends grpc.Client {
  Send(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RaftSendResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftBatch>;
  Send(metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RaftSendResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftBatch>;
  Send(options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RaftSendResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftBatch>;
  Send(callback: grpc.requestCallback<_bramble_v1_RaftSendResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftBatch>;
  send(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RaftSendResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftBatch>;
  send(metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RaftSendResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftBatch>;
  send(options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RaftSendResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftBatch>;
  send(callback: grpc.requestCallback<_bramble_v1_RaftSendResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftBatch>;
  
  SendSnapshot(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RaftSnapshotResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftSnapshotFrame>;
  SendSnapshot(metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RaftSnapshotResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftSnapshotFrame>;
  SendSnapshot(options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RaftSnapshotResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftSnapshotFrame>;
  SendSnapshot(callback: grpc.requestCallback<_bramble_v1_RaftSnapshotResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftSnapshotFrame>;
  sendSnapshot(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RaftSnapshotResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftSnapshotFrame>;
  sendSnapshot(metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RaftSnapshotResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftSnapshotFrame>;
  sendSnapshot(options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RaftSnapshotResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftSnapshotFrame>;
  sendSnapshot(callback: grpc.requestCallback<_bramble_v1_RaftSnapshotResponse__Output>): grpc.ClientWritableStream<_bramble_v1_RaftSnapshotFrame>;
  
}

export interface RaftHandlers extends grpc.UntypedServiceImplementation {
  Send: grpc.handleClientStreamingCall<_bramble_v1_RaftBatch__Output, _bramble_v1_RaftSendResponse>;
  
  SendSnapshot: grpc.handleClientStreamingCall<_bramble_v1_RaftSnapshotFrame__Output, _bramble_v1_RaftSnapshotResponse>;
  
}

export interface RaftDefinition extends grpc.ServiceDefinition {
  Send: MethodDefinition<_bramble_v1_RaftBatch, _bramble_v1_RaftSendResponse, _bramble_v1_RaftBatch__Output, _bramble_v1_RaftSendResponse__Output>
  SendSnapshot: MethodDefinition<_bramble_v1_RaftSnapshotFrame, _bramble_v1_RaftSnapshotResponse, _bramble_v1_RaftSnapshotFrame__Output, _bramble_v1_RaftSnapshotResponse__Output>
}
