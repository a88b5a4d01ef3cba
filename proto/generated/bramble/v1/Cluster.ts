// Original file: proto/bramble.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ApplyRequest as _bramble_v1_ApplyRequest, ApplyRequest__Output as _bramble_v1_ApplyRequest__Output } from '../../bramble/v1/ApplyRequest.js';
import type { ApplyResponse as _bramble_v1_ApplyResponse, ApplyResponse__Output as _bramble_v1_ApplyResponse__Output } from '../../bramble/v1/ApplyResponse.js';
import type { ClusterStatusRequest as _bramble_v1_ClusterStatusRequest, ClusterStatusRequest__Output as _bramble_v1_ClusterStatusRequest__Output } from '../../bramble/v1/ClusterStatusRequest.js';
import type { ClusterStatusResponse as _bramble_v1_ClusterStatusResponse, ClusterStatusResponse__Output as _bramble_v1_ClusterStatusResponse__Output } from '../../bramble/v1/ClusterStatusResponse.js';
import type { CreateTokenRequest as _bramble_v1_CreateTokenRequest, CreateTokenRequest__Output as _bramble_v1_CreateTokenRequest__Output } from '../../bramble/v1/CreateTokenRequest.js';
import type { DeleteRequest as _bramble_v1_DeleteRequest, DeleteRequest__Output as _bramble_v1_DeleteRequest__Output } from '../../bramble/v1/DeleteRequest.js';
import type { DeleteResponse as _bramble_v1_DeleteResponse, DeleteResponse__Output as _bramble_v1_DeleteResponse__Output } from '../../bramble/v1/DeleteResponse.js';
import type { DeleteTokenRequest as _bramble_v1_DeleteTokenRequest, DeleteTokenRequest__Output as _bramble_v1_DeleteTokenRequest__Output } from '../../bramble/v1/DeleteTokenRequest.js';
import type { DeleteTokenResponse as _bramble_v1_DeleteTokenResponse, DeleteTokenResponse__Output as _bramble_v1_DeleteTokenResponse__Output } from '../../bramble/v1/DeleteTokenResponse.js';
import type { ExecRequest as _bramble_v1_ExecRequest, ExecRequest__Output as _bramble_v1_ExecRequest__Output } from '../../bramble/v1/ExecRequest.js';
import type { ExecResponse as _bramble_v1_ExecResponse, ExecResponse__Output as _bramble_v1_ExecResponse__Output } from '../../bramble/v1/ExecResponse.js';
import type { GetRequest as _bramble_v1_GetRequest, GetRequest__Output as _bramble_v1_GetRequest__Output } from '../../bramble/v1/GetRequest.js';
import type { ImageChunk as _bramble_v1_ImageChunk, ImageChunk__Output as _bramble_v1_ImageChunk__Output } from '../../bramble/v1/ImageChunk.js';
import type { ImportImageResponse as _bramble_v1_ImportImageResponse, ImportImageResponse__Output as _bramble_v1_ImportImageResponse__Output } from '../../bramble/v1/ImportImageResponse.js';
import type { ListRequest as _bramble_v1_ListRequest, ListRequest__Output as _bramble_v1_ListRequest__Output } from '../../bramble/v1/ListRequest.js';
import type { ListResponse as _bramble_v1_ListResponse, ListResponse__Output as _bramble_v1_ListResponse__Output } from '../../bramble/v1/ListResponse.js';
import type { ListTokensRequest as _bramble_v1_ListTokensRequest, ListTokensRequest__Output as _bramble_v1_ListTokensRequest__Output } from '../../bramble/v1/ListTokensRequest.js';
import type { ListTokensResponse as _bramble_v1_ListTokensResponse, ListTokensResponse__Output as _bramble_v1_ListTokensResponse__Output } from '../../bramble/v1/ListTokensResponse.js';
import type { LogChunk as _bramble_v1_LogChunk, LogChunk__Output as _bramble_v1_LogChunk__Output } from '../../bramble/v1/LogChunk.js';
import type { LogsRequest as _bramble_v1_LogsRequest, LogsRequest__Output as _bramble_v1_LogsRequest__Output } from '../../bramble/v1/LogsRequest.js';
import type { ObjectResponse as _bramble_v1_ObjectResponse, ObjectResponse__Output as _bramble_v1_ObjectResponse__Output } from '../../bramble/v1/ObjectResponse.js';
import type { RemoveMemberRequest as _bramble_v1_RemoveMemberRequest, RemoveMemberRequest__Output as _bramble_v1_RemoveMemberRequest__Output } from '../../bramble/v1/RemoveMemberRequest.js';
import type { RemoveMemberResponse as _bramble_v1_RemoveMemberResponse, RemoveMemberResponse__Output as _bramble_v1_RemoveMemberResponse__Output } from '../../bramble/v1/RemoveMemberResponse.js';
import type { RotateClusterCaRequest as _bramble_v1_RotateClusterCaRequest, RotateClusterCaRequest__Output as _bramble_v1_RotateClusterCaRequest__Output } from '../../bramble/v1/RotateClusterCaRequest.js';
import type { RotateClusterCaResponse as _bramble_v1_RotateClusterCaResponse, RotateClusterCaResponse__Output as _bramble_v1_RotateClusterCaResponse__Output } from '../../bramble/v1/RotateClusterCaResponse.js';
import type { RotateSecretsEncryptionRequest as _bramble_v1_RotateSecretsEncryptionRequest, RotateSecretsEncryptionRequest__Output as _bramble_v1_RotateSecretsEncryptionRequest__Output } from '../../bramble/v1/RotateSecretsEncryptionRequest.js';
import type { RotateSecretsEncryptionResponse as _bramble_v1_RotateSecretsEncryptionResponse, RotateSecretsEncryptionResponse__Output as _bramble_v1_RotateSecretsEncryptionResponse__Output } from '../../bramble/v1/RotateSecretsEncryptionResponse.js';
import type { SecretsEncryptionStatusRequest as _bramble_v1_SecretsEncryptionStatusRequest, SecretsEncryptionStatusRequest__Output as _bramble_v1_SecretsEncryptionStatusRequest__Output } from '../../bramble/v1/SecretsEncryptionStatusRequest.js';
import type { SecretsEncryptionStatusResponse as _bramble_v1_SecretsEncryptionStatusResponse, SecretsEncryptionStatusResponse__Output as _bramble_v1_SecretsEncryptionStatusResponse__Output } from '../../bramble/v1/SecretsEncryptionStatusResponse.js';
import type { SnapshotChunk as _bramble_v1_SnapshotChunk, SnapshotChunk__Output as _bramble_v1_SnapshotChunk__Output } from '../../bramble/v1/SnapshotChunk.js';
import type { SnapshotStoreRequest as _bramble_v1_SnapshotStoreRequest, SnapshotStoreRequest__Output as _bramble_v1_SnapshotStoreRequest__Output } from '../../bramble/v1/SnapshotStoreRequest.js';
import type { TokenInfo as _bramble_v1_TokenInfo, TokenInfo__Output as _bramble_v1_TokenInfo__Output } from '../../bramble/v1/TokenInfo.js';
import type { TopRequest as _bramble_v1_TopRequest, TopRequest__Output as _bramble_v1_TopRequest__Output } from '../../bramble/v1/TopRequest.js';
import type { TopResponse as _bramble_v1_TopResponse, TopResponse__Output as _bramble_v1_TopResponse__Output } from '../../bramble/v1/TopResponse.js';
import type { VersionRequest as _bramble_v1_VersionRequest, VersionRequest__Output as _bramble_v1_VersionRequest__Output } from '../../bramble/v1/VersionRequest.js';
import type { VersionResponse as _bramble_v1_VersionResponse, VersionResponse__Output as _bramble_v1_VersionResponse__Output } from '../../bramble/v1/VersionResponse.js';
import type { WatchEvent as _bramble_v1_WatchEvent, WatchEvent__Output as _bramble_v1_WatchEvent__Output } from '../../bramble/v1/WatchEvent.js';
import type { WatchRequest as _bramble_v1_WatchRequest, WatchRequest__Output as _bramble_v1_WatchRequest__Output } from '../../bramble/v1/WatchRequest.js';

export interface ClusterClient extends grpc.Client {
  Apply(argument: _bramble_v1_ApplyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Apply(argument: _bramble_v1_ApplyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Apply(argument: _bramble_v1_ApplyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Apply(argument: _bramble_v1_ApplyRequest, callback: grpc.requestCallback<_bramble_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _bramble_v1_ApplyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _bramble_v1_ApplyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _bramble_v1_ApplyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _bramble_v1_ApplyRequest, callback: grpc.requestCallback<_bramble_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  
  ClusterStatus(argument: _bramble_v1_ClusterStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ClusterStatusResponse__Output>): grpc.ClientUnaryCall;
  ClusterStatus(argument: _bramble_v1_ClusterStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ClusterStatusResponse__Output>): grpc.ClientUnaryCall;
  ClusterStatus(argument: _bramble_v1_ClusterStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ClusterStatusResponse__Output>): grpc.ClientUnaryCall;
  ClusterStatus(argument: _bramble_v1_ClusterStatusRequest, callback: grpc.requestCallback<_bramble_v1_ClusterStatusResponse__Output>): grpc.ClientUnaryCall;
  clusterStatus(argument: _bramble_v1_ClusterStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ClusterStatusResponse__Output>): grpc.ClientUnaryCall;
  clusterStatus(argument: _bramble_v1_ClusterStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ClusterStatusResponse__Output>): grpc.ClientUnaryCall;
  clusterStatus(argument: _bramble_v1_ClusterStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ClusterStatusResponse__Output>): grpc.ClientUnaryCall;
  clusterStatus(argument: _bramble_v1_ClusterStatusRequest, callback: grpc.requestCallback<_bramble_v1_ClusterStatusResponse__Output>): grpc.ClientUnaryCall;
  
  CreateToken(argument: _bramble_v1_CreateTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  CreateToken(argument: _bramble_v1_CreateTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  CreateToken(argument: _bramble_v1_CreateTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  CreateToken(argument: _bramble_v1_CreateTokenRequest, callback: grpc.requestCallback<_bramble_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  createToken(argument: _bramble_v1_CreateTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  createToken(argument: _bramble_v1_CreateTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  createToken(argument: _bramble_v1_CreateTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  createToken(argument: _bramble_v1_CreateTokenRequest, callback: grpc.requestCallback<_bramble_v1_TokenInfo__Output>): grpc.ClientUnaryCall;
  
  Delete(argument: _bramble_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _bramble_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _bramble_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _bramble_v1_DeleteRequest, callback: grpc.requestCallback<_bramble_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _bramble_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _bramble_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _bramble_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _bramble_v1_DeleteRequest, callback: grpc.requestCallback<_bramble_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  
  DeleteToken(argument: _bramble_v1_DeleteTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_DeleteTokenResponse__Output>): grpc.ClientUnaryCall;
  DeleteToken(argument: _bramble_v1_DeleteTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_DeleteTokenResponse__Output>): grpc.ClientUnaryCall;
  DeleteToken(argument: _bramble_v1_DeleteTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_DeleteTokenResponse__Output>): grpc.ClientUnaryCall;
  DeleteToken(argument: _bramble_v1_DeleteTokenRequest, callback: grpc.requestCallback<_bramble_v1_DeleteTokenResponse__Output>): grpc.ClientUnaryCall;
  deleteToken(argument: _bramble_v1_DeleteTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_DeleteTokenResponse__Output>): grpc.ClientUnaryCall;
  deleteToken(argument: _bramble_v1_DeleteTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_DeleteTokenResponse__Output>): grpc.ClientUnaryCall;
  deleteToken(argument: _bramble_v1_DeleteTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_DeleteTokenResponse__Output>): grpc.ClientUnaryCall;
  deleteToken(argument: _bramble_v1_DeleteTokenRequest, callback: grpc.requestCallback<_bramble_v1_DeleteTokenResponse__Output>): grpc.ClientUnaryCall;
  
  Exec(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_bramble_v1_ExecRequest, _bramble_v1_ExecResponse__Output>;
  Exec(options?: grpc.CallOptions): grpc.ClientDuplexStream<_bramble_v1_ExecRequest, _bramble_v1_ExecResponse__Output>;
  exec(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_bramble_v1_ExecRequest, _bramble_v1_ExecResponse__Output>;
  exec(options?: grpc.CallOptions): grpc.ClientDuplexStream<_bramble_v1_ExecRequest, _bramble_v1_ExecResponse__Output>;
  
  Get(argument: _bramble_v1_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ObjectResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _bramble_v1_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ObjectResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _bramble_v1_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ObjectResponse__Output>): grpc.ClientUnaryCall;
  Get(argument: _bramble_v1_GetRequest, callback: grpc.requestCallback<_bramble_v1_ObjectResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _bramble_v1_GetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ObjectResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _bramble_v1_GetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ObjectResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _bramble_v1_GetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ObjectResponse__Output>): grpc.ClientUnaryCall;
  get(argument: _bramble_v1_GetRequest, callback: grpc.requestCallback<_bramble_v1_ObjectResponse__Output>): grpc.ClientUnaryCall;
  
  ImportImage(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ImportImageResponse__Output>): grpc.ClientWritableStream<_bramble_v1_ImageChunk>;
  ImportImage(metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ImportImageResponse__Output>): grpc.ClientWritableStream<_bramble_v1_ImageChunk>;
  ImportImage(options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ImportImageResponse__Output>): grpc.ClientWritableStream<_bramble_v1_ImageChunk>;
  ImportImage(callback: grpc.requestCallback<_bramble_v1_ImportImageResponse__Output>): grpc.ClientWritableStream<_bramble_v1_ImageChunk>;
  importImage(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ImportImageResponse__Output>): grpc.ClientWritableStream<_bramble_v1_ImageChunk>;
  importImage(metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ImportImageResponse__Output>): grpc.ClientWritableStream<_bramble_v1_ImageChunk>;
  importImage(options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ImportImageResponse__Output>): grpc.ClientWritableStream<_bramble_v1_ImageChunk>;
  importImage(callback: grpc.requestCallback<_bramble_v1_ImportImageResponse__Output>): grpc.ClientWritableStream<_bramble_v1_ImageChunk>;
  
  List(argument: _bramble_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _bramble_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _bramble_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _bramble_v1_ListRequest, callback: grpc.requestCallback<_bramble_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _bramble_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _bramble_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _bramble_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _bramble_v1_ListRequest, callback: grpc.requestCallback<_bramble_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  
  ListTokens(argument: _bramble_v1_ListTokensRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  ListTokens(argument: _bramble_v1_ListTokensRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  ListTokens(argument: _bramble_v1_ListTokensRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  ListTokens(argument: _bramble_v1_ListTokensRequest, callback: grpc.requestCallback<_bramble_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  listTokens(argument: _bramble_v1_ListTokensRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  listTokens(argument: _bramble_v1_ListTokensRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  listTokens(argument: _bramble_v1_ListTokensRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  listTokens(argument: _bramble_v1_ListTokensRequest, callback: grpc.requestCallback<_bramble_v1_ListTokensResponse__Output>): grpc.ClientUnaryCall;
  
  Logs(argument: _bramble_v1_LogsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_LogChunk__Output>;
  Logs(argument: _bramble_v1_LogsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_LogChunk__Output>;
  logs(argument: _bramble_v1_LogsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_LogChunk__Output>;
  logs(argument: _bramble_v1_LogsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_LogChunk__Output>;
  
  RemoveMember(argument: _bramble_v1_RemoveMemberRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RemoveMemberResponse__Output>): grpc.ClientUnaryCall;
  RemoveMember(argument: _bramble_v1_RemoveMemberRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RemoveMemberResponse__Output>): grpc.ClientUnaryCall;
  RemoveMember(argument: _bramble_v1_RemoveMemberRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RemoveMemberResponse__Output>): grpc.ClientUnaryCall;
  RemoveMember(argument: _bramble_v1_RemoveMemberRequest, callback: grpc.requestCallback<_bramble_v1_RemoveMemberResponse__Output>): grpc.ClientUnaryCall;
  removeMember(argument: _bramble_v1_RemoveMemberRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RemoveMemberResponse__Output>): grpc.ClientUnaryCall;
  removeMember(argument: _bramble_v1_RemoveMemberRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RemoveMemberResponse__Output>): grpc.ClientUnaryCall;
  removeMember(argument: _bramble_v1_RemoveMemberRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RemoveMemberResponse__Output>): grpc.ClientUnaryCall;
  removeMember(argument: _bramble_v1_RemoveMemberRequest, callback: grpc.requestCallback<_bramble_v1_RemoveMemberResponse__Output>): grpc.ClientUnaryCall;
  
  RotateClusterCa(argument: _bramble_v1_RotateClusterCaRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RotateClusterCaResponse__Output>): grpc.ClientUnaryCall;
  RotateClusterCa(argument: _bramble_v1_RotateClusterCaRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RotateClusterCaResponse__Output>): grpc.ClientUnaryCall;
  RotateClusterCa(argument: _bramble_v1_RotateClusterCaRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RotateClusterCaResponse__Output>): grpc.ClientUnaryCall;
  RotateClusterCa(argument: _bramble_v1_RotateClusterCaRequest, callback: grpc.requestCallback<_bramble_v1_RotateClusterCaResponse__Output>): grpc.ClientUnaryCall;
  rotateClusterCa(argument: _bramble_v1_RotateClusterCaRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RotateClusterCaResponse__Output>): grpc.ClientUnaryCall;
  rotateClusterCa(argument: _bramble_v1_RotateClusterCaRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RotateClusterCaResponse__Output>): grpc.ClientUnaryCall;
  rotateClusterCa(argument: _bramble_v1_RotateClusterCaRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RotateClusterCaResponse__Output>): grpc.ClientUnaryCall;
  rotateClusterCa(argument: _bramble_v1_RotateClusterCaRequest, callback: grpc.requestCallback<_bramble_v1_RotateClusterCaResponse__Output>): grpc.ClientUnaryCall;
  
  RotateSecretsEncryption(argument: _bramble_v1_RotateSecretsEncryptionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RotateSecretsEncryptionResponse__Output>): grpc.ClientUnaryCall;
  RotateSecretsEncryption(argument: _bramble_v1_RotateSecretsEncryptionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RotateSecretsEncryptionResponse__Output>): grpc.ClientUnaryCall;
  RotateSecretsEncryption(argument: _bramble_v1_RotateSecretsEncryptionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RotateSecretsEncryptionResponse__Output>): grpc.ClientUnaryCall;
  RotateSecretsEncryption(argument: _bramble_v1_RotateSecretsEncryptionRequest, callback: grpc.requestCallback<_bramble_v1_RotateSecretsEncryptionResponse__Output>): grpc.ClientUnaryCall;
  rotateSecretsEncryption(argument: _bramble_v1_RotateSecretsEncryptionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RotateSecretsEncryptionResponse__Output>): grpc.ClientUnaryCall;
  rotateSecretsEncryption(argument: _bramble_v1_RotateSecretsEncryptionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RotateSecretsEncryptionResponse__Output>): grpc.ClientUnaryCall;
  rotateSecretsEncryption(argument: _bramble_v1_RotateSecretsEncryptionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RotateSecretsEncryptionResponse__Output>): grpc.ClientUnaryCall;
  rotateSecretsEncryption(argument: _bramble_v1_RotateSecretsEncryptionRequest, callback: grpc.requestCallback<_bramble_v1_RotateSecretsEncryptionResponse__Output>): grpc.ClientUnaryCall;
  
  SecretsEncryptionStatus(argument: _bramble_v1_SecretsEncryptionStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_SecretsEncryptionStatusResponse__Output>): grpc.ClientUnaryCall;
  SecretsEncryptionStatus(argument: _bramble_v1_SecretsEncryptionStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_SecretsEncryptionStatusResponse__Output>): grpc.ClientUnaryCall;
  SecretsEncryptionStatus(argument: _bramble_v1_SecretsEncryptionStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_SecretsEncryptionStatusResponse__Output>): grpc.ClientUnaryCall;
  SecretsEncryptionStatus(argument: _bramble_v1_SecretsEncryptionStatusRequest, callback: grpc.requestCallback<_bramble_v1_SecretsEncryptionStatusResponse__Output>): grpc.ClientUnaryCall;
  secretsEncryptionStatus(argument: _bramble_v1_SecretsEncryptionStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_SecretsEncryptionStatusResponse__Output>): grpc.ClientUnaryCall;
  secretsEncryptionStatus(argument: _bramble_v1_SecretsEncryptionStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_SecretsEncryptionStatusResponse__Output>): grpc.ClientUnaryCall;
  secretsEncryptionStatus(argument: _bramble_v1_SecretsEncryptionStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_SecretsEncryptionStatusResponse__Output>): grpc.ClientUnaryCall;
  secretsEncryptionStatus(argument: _bramble_v1_SecretsEncryptionStatusRequest, callback: grpc.requestCallback<_bramble_v1_SecretsEncryptionStatusResponse__Output>): grpc.ClientUnaryCall;
  
  SnapshotStore(argument: _bramble_v1_SnapshotStoreRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_SnapshotChunk__Output>;
  SnapshotStore(argument: _bramble_v1_SnapshotStoreRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_SnapshotChunk__Output>;
  snapshotStore(argument: _bramble_v1_SnapshotStoreRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_SnapshotChunk__Output>;
  snapshotStore(argument: _bramble_v1_SnapshotStoreRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_SnapshotChunk__Output>;
  
  Top(argument: _bramble_v1_TopRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_TopResponse__Output>): grpc.ClientUnaryCall;
  Top(argument: _bramble_v1_TopRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_TopResponse__Output>): grpc.ClientUnaryCall;
  Top(argument: _bramble_v1_TopRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_TopResponse__Output>): grpc.ClientUnaryCall;
  Top(argument: _bramble_v1_TopRequest, callback: grpc.requestCallback<_bramble_v1_TopResponse__Output>): grpc.ClientUnaryCall;
  top(argument: _bramble_v1_TopRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_TopResponse__Output>): grpc.ClientUnaryCall;
  top(argument: _bramble_v1_TopRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_TopResponse__Output>): grpc.ClientUnaryCall;
  top(argument: _bramble_v1_TopRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_TopResponse__Output>): grpc.ClientUnaryCall;
  top(argument: _bramble_v1_TopRequest, callback: grpc.requestCallback<_bramble_v1_TopResponse__Output>): grpc.ClientUnaryCall;
  
  Version(argument: _bramble_v1_VersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_VersionResponse__Output>): grpc.ClientUnaryCall;
  Version(argument: _bramble_v1_VersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_VersionResponse__Output>): grpc.ClientUnaryCall;
  Version(argument: _bramble_v1_VersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_VersionResponse__Output>): grpc.ClientUnaryCall;
  Version(argument: _bramble_v1_VersionRequest, callback: grpc.requestCallback<_bramble_v1_VersionResponse__Output>): grpc.ClientUnaryCall;
  version(argument: _bramble_v1_VersionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_VersionResponse__Output>): grpc.ClientUnaryCall;
  version(argument: _bramble_v1_VersionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_VersionResponse__Output>): grpc.ClientUnaryCall;
  version(argument: _bramble_v1_VersionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_VersionResponse__Output>): grpc.ClientUnaryCall;
  version(argument: _bramble_v1_VersionRequest, callback: grpc.requestCallback<_bramble_v1_VersionResponse__Output>): grpc.ClientUnaryCall;
  
  Watch(argument: _bramble_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_WatchEvent__Output>;
  Watch(argument: _bramble_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_WatchEvent__Output>;
  watch(argument: _bramble_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_WatchEvent__Output>;
  watch(argument: _bramble_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_WatchEvent__Output>;
  
}

export interface ClusterHandlers extends grpc.UntypedServiceImplementation {
  Apply: grpc.handleUnaryCall<_bramble_v1_ApplyRequest__Output, _bramble_v1_ApplyResponse>;
  
  ClusterStatus: grpc.handleUnaryCall<_bramble_v1_ClusterStatusRequest__Output, _bramble_v1_ClusterStatusResponse>;
  
  CreateToken: grpc.handleUnaryCall<_bramble_v1_CreateTokenRequest__Output, _bramble_v1_TokenInfo>;
  
  Delete: grpc.handleUnaryCall<_bramble_v1_DeleteRequest__Output, _bramble_v1_DeleteResponse>;
  
  DeleteToken: grpc.handleUnaryCall<_bramble_v1_DeleteTokenRequest__Output, _bramble_v1_DeleteTokenResponse>;
  
  Exec: grpc.handleBidiStreamingCall<_bramble_v1_ExecRequest__Output, _bramble_v1_ExecResponse>;
  
  Get: grpc.handleUnaryCall<_bramble_v1_GetRequest__Output, _bramble_v1_ObjectResponse>;
  
  ImportImage: grpc.handleClientStreamingCall<_bramble_v1_ImageChunk__Output, _bramble_v1_ImportImageResponse>;
  
  List: grpc.handleUnaryCall<_bramble_v1_ListRequest__Output, _bramble_v1_ListResponse>;
  
  ListTokens: grpc.handleUnaryCall<_bramble_v1_ListTokensRequest__Output, _bramble_v1_ListTokensResponse>;
  
  Logs: grpc.handleServerStreamingCall<_bramble_v1_LogsRequest__Output, _bramble_v1_LogChunk>;
  
  RemoveMember: grpc.handleUnaryCall<_bramble_v1_RemoveMemberRequest__Output, _bramble_v1_RemoveMemberResponse>;
  
  RotateClusterCa: grpc.handleUnaryCall<_bramble_v1_RotateClusterCaRequest__Output, _bramble_v1_RotateClusterCaResponse>;
  
  RotateSecretsEncryption: grpc.handleUnaryCall<_bramble_v1_RotateSecretsEncryptionRequest__Output, _bramble_v1_RotateSecretsEncryptionResponse>;
  
  SecretsEncryptionStatus: grpc.handleUnaryCall<_bramble_v1_SecretsEncryptionStatusRequest__Output, _bramble_v1_SecretsEncryptionStatusResponse>;
  
  SnapshotStore: grpc.handleServerStreamingCall<_bramble_v1_SnapshotStoreRequest__Output, _bramble_v1_SnapshotChunk>;
  
  Top: grpc.handleUnaryCall<_bramble_v1_TopRequest__Output, _bramble_v1_TopResponse>;
  
  Version: grpc.handleUnaryCall<_bramble_v1_VersionRequest__Output, _bramble_v1_VersionResponse>;
  
  Watch: grpc.handleServerStreamingCall<_bramble_v1_WatchRequest__Output, _bramble_v1_WatchEvent>;
  
}

export interface ClusterDefinition extends grpc.ServiceDefinition {
  Apply: MethodDefinition<_bramble_v1_ApplyRequest, _bramble_v1_ApplyResponse, _bramble_v1_ApplyRequest__Output, _bramble_v1_ApplyResponse__Output>
  ClusterStatus: MethodDefinition<_bramble_v1_ClusterStatusRequest, _bramble_v1_ClusterStatusResponse, _bramble_v1_ClusterStatusRequest__Output, _bramble_v1_ClusterStatusResponse__Output>
  CreateToken: MethodDefinition<_bramble_v1_CreateTokenRequest, _bramble_v1_TokenInfo, _bramble_v1_CreateTokenRequest__Output, _bramble_v1_TokenInfo__Output>
  Delete: MethodDefinition<_bramble_v1_DeleteRequest, _bramble_v1_DeleteResponse, _bramble_v1_DeleteRequest__Output, _bramble_v1_DeleteResponse__Output>
  DeleteToken: MethodDefinition<_bramble_v1_DeleteTokenRequest, _bramble_v1_DeleteTokenResponse, _bramble_v1_DeleteTokenRequest__Output, _bramble_v1_DeleteTokenResponse__Output>
  Exec: MethodDefinition<_bramble_v1_ExecRequest, _bramble_v1_ExecResponse, _bramble_v1_ExecRequest__Output, _bramble_v1_ExecResponse__Output>
  Get: MethodDefinition<_bramble_v1_GetRequest, _bramble_v1_ObjectResponse, _bramble_v1_GetRequest__Output, _bramble_v1_ObjectResponse__Output>
  ImportImage: MethodDefinition<_bramble_v1_ImageChunk, _bramble_v1_ImportImageResponse, _bramble_v1_ImageChunk__Output, _bramble_v1_ImportImageResponse__Output>
  List: MethodDefinition<_bramble_v1_ListRequest, _bramble_v1_ListResponse, _bramble_v1_ListRequest__Output, _bramble_v1_ListResponse__Output>
  ListTokens: MethodDefinition<_bramble_v1_ListTokensRequest, _bramble_v1_ListTokensResponse, _bramble_v1_ListTokensRequest__Output, _bramble_v1_ListTokensResponse__Output>
  Logs: MethodDefinition<_bramble_v1_LogsRequest, _bramble_v1_LogChunk, _bramble_v1_LogsRequest__Output, _bramble_v1_LogChunk__Output>
  RemoveMember: MethodDefinition<_bramble_v1_RemoveMemberRequest, _bramble_v1_RemoveMemberResponse, _bramble_v1_RemoveMemberRequest__Output, _bramble_v1_RemoveMemberResponse__Output>
  RotateClusterCa: MethodDefinition<_bramble_v1_RotateClusterCaRequest, _bramble_v1_RotateClusterCaResponse, _bramble_v1_RotateClusterCaRequest__Output, _bramble_v1_RotateClusterCaResponse__Output>
  RotateSecretsEncryption: MethodDefinition<_bramble_v1_RotateSecretsEncryptionRequest, _bramble_v1_RotateSecretsEncryptionResponse, _bramble_v1_RotateSecretsEncryptionRequest__Output, _bramble_v1_RotateSecretsEncryptionResponse__Output>
  SecretsEncryptionStatus: MethodDefinition<_bramble_v1_SecretsEncryptionStatusRequest, _bramble_v1_SecretsEncryptionStatusResponse, _bramble_v1_SecretsEncryptionStatusRequest__Output, _bramble_v1_SecretsEncryptionStatusResponse__Output>
  SnapshotStore: MethodDefinition<_bramble_v1_SnapshotStoreRequest, _bramble_v1_SnapshotChunk, _bramble_v1_SnapshotStoreRequest__Output, _bramble_v1_SnapshotChunk__Output>
  Top: MethodDefinition<_bramble_v1_TopRequest, _bramble_v1_TopResponse, _bramble_v1_TopRequest__Output, _bramble_v1_TopResponse__Output>
  Version: MethodDefinition<_bramble_v1_VersionRequest, _bramble_v1_VersionResponse, _bramble_v1_VersionRequest__Output, _bramble_v1_VersionResponse__Output>
  Watch: MethodDefinition<_bramble_v1_WatchRequest, _bramble_v1_WatchEvent, _bramble_v1_WatchRequest__Output, _bramble_v1_WatchEvent__Output>
}
