// Original file: proto/bramble.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ForwardRequest as _bramble_v1_ForwardRequest, ForwardRequest__Output as _bramble_v1_ForwardRequest__Output } from '../../bramble/v1/ForwardRequest.js';
import type { ForwardResponse as _bramble_v1_ForwardResponse, ForwardResponse__Output as _bramble_v1_ForwardResponse__Output } from '../../bramble/v1/ForwardResponse.js';
import type { JoinMemberRequest as _bramble_v1_JoinMemberRequest, JoinMemberRequest__Output as _bramble_v1_JoinMemberRequest__Output } from '../../bramble/v1/JoinMemberRequest.js';
import type { JoinMemberResponse as _bramble_v1_JoinMemberResponse, JoinMemberResponse__Output as _bramble_v1_JoinMemberResponse__Output } from '../../bramble/v1/JoinMemberResponse.js';
import type { MemberStatusRequest as _bramble_v1_MemberStatusRequest, MemberStatusRequest__Output as _bramble_v1_MemberStatusRequest__Output } from '../../bramble/v1/MemberStatusRequest.js';
import type { MemberStatusResponse as _bramble_v1_MemberStatusResponse, MemberStatusResponse__Output as _bramble_v1_MemberStatusResponse__Output } from '../../bramble/v1/MemberStatusResponse.js';
import type { SetClusterCaRequest as _bramble_v1_SetClusterCaRequest, SetClusterCaRequest__Output as _bramble_v1_SetClusterCaRequest__Output } from '../../bramble/v1/SetClusterCaRequest.js';
import type { SetClusterCaResponse as _bramble_v1_SetClusterCaResponse, SetClusterCaResponse__Output as _bramble_v1_SetClusterCaResponse__Output } from '../../bramble/v1/SetClusterCaResponse.js';
import type { SetEncryptionKeysRequest as _bramble_v1_SetEncryptionKeysRequest, SetEncryptionKeysRequest__Output as _bramble_v1_SetEncryptionKeysRequest__Output } from '../../bramble/v1/SetEncryptionKeysRequest.js';
import type { SetEncryptionKeysResponse as _bramble_v1_SetEncryptionKeysResponse, SetEncryptionKeysResponse__Output as _bramble_v1_SetEncryptionKeysResponse__Output } from '../../bramble/v1/SetEncryptionKeysResponse.js';

export interface MembersClient extends grpc.Client {
  Forward(argument: _bramble_v1_ForwardRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ForwardResponse__Output>): grpc.ClientUnaryCall;
  Forward(argument: _bramble_v1_ForwardRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ForwardResponse__Output>): grpc.ClientUnaryCall;
  Forward(argument: _bramble_v1_ForwardRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ForwardResponse__Output>): grpc.ClientUnaryCall;
  Forward(argument: _bramble_v1_ForwardRequest, callback: grpc.requestCallback<_bramble_v1_ForwardResponse__Output>): grpc.ClientUnaryCall;
  forward(argument: _bramble_v1_ForwardRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ForwardResponse__Output>): grpc.ClientUnaryCall;
  forward(argument: _bramble_v1_ForwardRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_ForwardResponse__Output>): grpc.ClientUnaryCall;
  forward(argument: _bramble_v1_ForwardRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_ForwardResponse__Output>): grpc.ClientUnaryCall;
  forward(argument: _bramble_v1_ForwardRequest, callback: grpc.requestCallback<_bramble_v1_ForwardResponse__Output>): grpc.ClientUnaryCall;
  
  JoinMember(argument: _bramble_v1_JoinMemberRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_JoinMemberResponse__Output>): grpc.ClientUnaryCall;
  JoinMember(argument: _bramble_v1_JoinMemberRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_JoinMemberResponse__Output>): grpc.ClientUnaryCall;
  JoinMember(argument: _bramble_v1_JoinMemberRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_JoinMemberResponse__Output>): grpc.ClientUnaryCall;
  JoinMember(argument: _bramble_v1_JoinMemberRequest, callback: grpc.requestCallback<_bramble_v1_JoinMemberResponse__Output>): grpc.ClientUnaryCall;
  joinMember(argument: _bramble_v1_JoinMemberRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_JoinMemberResponse__Output>): grpc.ClientUnaryCall;
  joinMember(argument: _bramble_v1_JoinMemberRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_JoinMemberResponse__Output>): grpc.ClientUnaryCall;
  joinMember(argument: _bramble_v1_JoinMemberRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_JoinMemberResponse__Output>): grpc.ClientUnaryCall;
  joinMember(argument: _bramble_v1_JoinMemberRequest, callback: grpc.requestCallback<_bramble_v1_JoinMemberResponse__Output>): grpc.ClientUnaryCall;
  
  MemberStatus(argument: _bramble_v1_MemberStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_MemberStatusResponse__Output>): grpc.ClientUnaryCall;
  MemberStatus(argument: _bramble_v1_MemberStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_MemberStatusResponse__Output>): grpc.ClientUnaryCall;
  MemberStatus(argument: _bramble_v1_MemberStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_MemberStatusResponse__Output>): grpc.ClientUnaryCall;
  MemberStatus(argument: _bramble_v1_MemberStatusRequest, callback: grpc.requestCallback<_bramble_v1_MemberStatusResponse__Output>): grpc.ClientUnaryCall;
  memberStatus(argument: _bramble_v1_MemberStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_MemberStatusResponse__Output>): grpc.ClientUnaryCall;
  memberStatus(argument: _bramble_v1_MemberStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_MemberStatusResponse__Output>): grpc.ClientUnaryCall;
  memberStatus(argument: _bramble_v1_MemberStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_MemberStatusResponse__Output>): grpc.ClientUnaryCall;
  memberStatus(argument: _bramble_v1_MemberStatusRequest, callback: grpc.requestCallback<_bramble_v1_MemberStatusResponse__Output>): grpc.ClientUnaryCall;
  
  SetClusterCa(argument: _bramble_v1_SetClusterCaRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_SetClusterCaResponse__Output>): grpc.ClientUnaryCall;
  SetClusterCa(argument: _bramble_v1_SetClusterCaRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_SetClusterCaResponse__Output>): grpc.ClientUnaryCall;
  SetClusterCa(argument: _bramble_v1_SetClusterCaRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_SetClusterCaResponse__Output>): grpc.ClientUnaryCall;
  SetClusterCa(argument: _bramble_v1_SetClusterCaRequest, callback: grpc.requestCallback<_bramble_v1_SetClusterCaResponse__Output>): grpc.ClientUnaryCall;
  setClusterCa(argument: _bramble_v1_SetClusterCaRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_SetClusterCaResponse__Output>): grpc.ClientUnaryCall;
  setClusterCa(argument: _bramble_v1_SetClusterCaRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_SetClusterCaResponse__Output>): grpc.ClientUnaryCall;
  setClusterCa(argument: _bramble_v1_SetClusterCaRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_SetClusterCaResponse__Output>): grpc.ClientUnaryCall;
  setClusterCa(argument: _bramble_v1_SetClusterCaRequest, callback: grpc.requestCallback<_bramble_v1_SetClusterCaResponse__Output>): grpc.ClientUnaryCall;
  
  SetEncryptionKeys(argument: _bramble_v1_SetEncryptionKeysRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_SetEncryptionKeysResponse__Output>): grpc.ClientUnaryCall;
  SetEncryptionKeys(argument: _bramble_v1_SetEncryptionKeysRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_SetEncryptionKeysResponse__Output>): grpc.ClientUnaryCall;
  SetEncryptionKeys(argument: _bramble_v1_SetEncryptionKeysRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_SetEncryptionKeysResponse__Output>): grpc.ClientUnaryCall;
  SetEncryptionKeys(argument: _bramble_v1_SetEncryptionKeysRequest, callback: grpc.requestCallback<_bramble_v1_SetEncryptionKeysResponse__Output>): grpc.ClientUnaryCall;
  setEncryptionKeys(argument: _bramble_v1_SetEncryptionKeysRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_SetEncryptionKeysResponse__Output>): grpc.ClientUnaryCall;
  setEncryptionKeys(argument: _bramble_v1_SetEncryptionKeysRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_SetEncryptionKeysResponse__Output>): grpc.ClientUnaryCall;
  setEncryptionKeys(argument: _bramble_v1_SetEncryptionKeysRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_SetEncryptionKeysResponse__Output>): grpc.ClientUnaryCall;
  setEncryptionKeys(argument: _bramble_v1_SetEncryptionKeysRequest, callback: grpc.requestCallback<_bramble_v1_SetEncryptionKeysResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface MembersHandlers extends grpc.UntypedServiceImplementation {
  Forward: grpc.handleUnaryCall<_bramble_v1_ForwardRequest__Output, _bramble_v1_ForwardResponse>;
  
  JoinMember: grpc.handleUnaryCall<_bramble_v1_JoinMemberRequest__Output, _bramble_v1_JoinMemberResponse>;
  
  MemberStatus: grpc.handleUnaryCall<_bramble_v1_MemberStatusRequest__Output, _bramble_v1_MemberStatusResponse>;
  
  SetClusterCa: grpc.handleUnaryCall<_bramble_v1_SetClusterCaRequest__Output, _bramble_v1_SetClusterCaResponse>;
  
  SetEncryptionKeys: grpc.handleUnaryCall<_bramble_v1_SetEncryptionKeysRequest__Output, _bramble_v1_SetEncryptionKeysResponse>;
  
}

export interface MembersDefinition extends grpc.ServiceDefinition {
  Forward: MethodDefinition<_bramble_v1_ForwardRequest, _bramble_v1_ForwardResponse, _bramble_v1_ForwardRequest__Output, _bramble_v1_ForwardResponse__Output>
  JoinMember: MethodDefinition<_bramble_v1_JoinMemberRequest, _bramble_v1_JoinMemberResponse, _bramble_v1_JoinMemberRequest__Output, _bramble_v1_JoinMemberResponse__Output>
  MemberStatus: MethodDefinition<_bramble_v1_MemberStatusRequest, _bramble_v1_MemberStatusResponse, _bramble_v1_MemberStatusRequest__Output, _bramble_v1_MemberStatusResponse__Output>
  SetClusterCa: MethodDefinition<_bramble_v1_SetClusterCaRequest, _bramble_v1_SetClusterCaResponse, _bramble_v1_SetClusterCaRequest__Output, _bramble_v1_SetClusterCaResponse__Output>
  SetEncryptionKeys: MethodDefinition<_bramble_v1_SetEncryptionKeysRequest, _bramble_v1_SetEncryptionKeysResponse, _bramble_v1_SetEncryptionKeysRequest__Output, _bramble_v1_SetEncryptionKeysResponse__Output>
}
