import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ApplyRequest as _bramble_v1_ApplyRequest, ApplyRequest__Output as _bramble_v1_ApplyRequest__Output } from './bramble/v1/ApplyRequest.js';
import type { ApplyResponse as _bramble_v1_ApplyResponse, ApplyResponse__Output as _bramble_v1_ApplyResponse__Output } from './bramble/v1/ApplyResponse.js';
import type { ApplyResult as _bramble_v1_ApplyResult, ApplyResult__Output as _bramble_v1_ApplyResult__Output } from './bramble/v1/ApplyResult.js';
import type { AssignmentEvent as _bramble_v1_AssignmentEvent, AssignmentEvent__Output as _bramble_v1_AssignmentEvent__Output } from './bramble/v1/AssignmentEvent.js';
import type { CancelRequest as _bramble_v1_CancelRequest, CancelRequest__Output as _bramble_v1_CancelRequest__Output } from './bramble/v1/CancelRequest.js';
import type { ClusterClient as _bramble_v1_ClusterClient, ClusterDefinition as _bramble_v1_ClusterDefinition } from './bramble/v1/Cluster.js';
import type { ClusterStatusRequest as _bramble_v1_ClusterStatusRequest, ClusterStatusRequest__Output as _bramble_v1_ClusterStatusRequest__Output } from './bramble/v1/ClusterStatusRequest.js';
import type { ClusterStatusResponse as _bramble_v1_ClusterStatusResponse, ClusterStatusResponse__Output as _bramble_v1_ClusterStatusResponse__Output } from './bramble/v1/ClusterStatusResponse.js';
import type { CreateTokenRequest as _bramble_v1_CreateTokenRequest, CreateTokenRequest__Output as _bramble_v1_CreateTokenRequest__Output } from './bramble/v1/CreateTokenRequest.js';
import type { DeleteRequest as _bramble_v1_DeleteRequest, DeleteRequest__Output as _bramble_v1_DeleteRequest__Output } from './bramble/v1/DeleteRequest.js';
import type { DeleteResponse as _bramble_v1_DeleteResponse, DeleteResponse__Output as _bramble_v1_DeleteResponse__Output } from './bramble/v1/DeleteResponse.js';
import type { DeleteTokenRequest as _bramble_v1_DeleteTokenRequest, DeleteTokenRequest__Output as _bramble_v1_DeleteTokenRequest__Output } from './bramble/v1/DeleteTokenRequest.js';
import type { DeleteTokenResponse as _bramble_v1_DeleteTokenResponse, DeleteTokenResponse__Output as _bramble_v1_DeleteTokenResponse__Output } from './bramble/v1/DeleteTokenResponse.js';
import type { ExecExit as _bramble_v1_ExecExit, ExecExit__Output as _bramble_v1_ExecExit__Output } from './bramble/v1/ExecExit.js';
import type { ExecRequest as _bramble_v1_ExecRequest, ExecRequest__Output as _bramble_v1_ExecRequest__Output } from './bramble/v1/ExecRequest.js';
import type { ExecResponse as _bramble_v1_ExecResponse, ExecResponse__Output as _bramble_v1_ExecResponse__Output } from './bramble/v1/ExecResponse.js';
import type { ExecStart as _bramble_v1_ExecStart, ExecStart__Output as _bramble_v1_ExecStart__Output } from './bramble/v1/ExecStart.js';
import type { ExecStdinEof as _bramble_v1_ExecStdinEof, ExecStdinEof__Output as _bramble_v1_ExecStdinEof__Output } from './bramble/v1/ExecStdinEof.js';
import type { ForwardRequest as _bramble_v1_ForwardRequest, ForwardRequest__Output as _bramble_v1_ForwardRequest__Output } from './bramble/v1/ForwardRequest.js';
import type { ForwardResponse as _bramble_v1_ForwardResponse, ForwardResponse__Output as _bramble_v1_ForwardResponse__Output } from './bramble/v1/ForwardResponse.js';
import type { GetRequest as _bramble_v1_GetRequest, GetRequest__Output as _bramble_v1_GetRequest__Output } from './bramble/v1/GetRequest.js';
import type { HeartbeatRequest as _bramble_v1_HeartbeatRequest, HeartbeatRequest__Output as _bramble_v1_HeartbeatRequest__Output } from './bramble/v1/HeartbeatRequest.js';
import type { HeartbeatResponse as _bramble_v1_HeartbeatResponse, HeartbeatResponse__Output as _bramble_v1_HeartbeatResponse__Output } from './bramble/v1/HeartbeatResponse.js';
import type { ImageChunk as _bramble_v1_ImageChunk, ImageChunk__Output as _bramble_v1_ImageChunk__Output } from './bramble/v1/ImageChunk.js';
import type { ImportImageResponse as _bramble_v1_ImportImageResponse, ImportImageResponse__Output as _bramble_v1_ImportImageResponse__Output } from './bramble/v1/ImportImageResponse.js';
import type { JoinMemberRequest as _bramble_v1_JoinMemberRequest, JoinMemberRequest__Output as _bramble_v1_JoinMemberRequest__Output } from './bramble/v1/JoinMemberRequest.js';
import type { JoinMemberResponse as _bramble_v1_JoinMemberResponse, JoinMemberResponse__Output as _bramble_v1_JoinMemberResponse__Output } from './bramble/v1/JoinMemberResponse.js';
import type { JoinRequest as _bramble_v1_JoinRequest, JoinRequest__Output as _bramble_v1_JoinRequest__Output } from './bramble/v1/JoinRequest.js';
import type { JoinResponse as _bramble_v1_JoinResponse, JoinResponse__Output as _bramble_v1_JoinResponse__Output } from './bramble/v1/JoinResponse.js';
import type { ListRequest as _bramble_v1_ListRequest, ListRequest__Output as _bramble_v1_ListRequest__Output } from './bramble/v1/ListRequest.js';
import type { ListResponse as _bramble_v1_ListResponse, ListResponse__Output as _bramble_v1_ListResponse__Output } from './bramble/v1/ListResponse.js';
import type { ListTokensRequest as _bramble_v1_ListTokensRequest, ListTokensRequest__Output as _bramble_v1_ListTokensRequest__Output } from './bramble/v1/ListTokensRequest.js';
import type { ListTokensResponse as _bramble_v1_ListTokensResponse, ListTokensResponse__Output as _bramble_v1_ListTokensResponse__Output } from './bramble/v1/ListTokensResponse.js';
import type { LogChunk as _bramble_v1_LogChunk, LogChunk__Output as _bramble_v1_LogChunk__Output } from './bramble/v1/LogChunk.js';
import type { LogsRequest as _bramble_v1_LogsRequest, LogsRequest__Output as _bramble_v1_LogsRequest__Output } from './bramble/v1/LogsRequest.js';
import type { MemberInfo as _bramble_v1_MemberInfo, MemberInfo__Output as _bramble_v1_MemberInfo__Output } from './bramble/v1/MemberInfo.js';
import type { MemberState as _bramble_v1_MemberState, MemberState__Output as _bramble_v1_MemberState__Output } from './bramble/v1/MemberState.js';
import type { MemberStatusRequest as _bramble_v1_MemberStatusRequest, MemberStatusRequest__Output as _bramble_v1_MemberStatusRequest__Output } from './bramble/v1/MemberStatusRequest.js';
import type { MemberStatusResponse as _bramble_v1_MemberStatusResponse, MemberStatusResponse__Output as _bramble_v1_MemberStatusResponse__Output } from './bramble/v1/MemberStatusResponse.js';
import type { MembersClient as _bramble_v1_MembersClient, MembersDefinition as _bramble_v1_MembersDefinition } from './bramble/v1/Members.js';
import type { NetworkEvent as _bramble_v1_NetworkEvent, NetworkEvent__Output as _bramble_v1_NetworkEvent__Output } from './bramble/v1/NetworkEvent.js';
import type { NodeClient as _bramble_v1_NodeClient, NodeDefinition as _bramble_v1_NodeDefinition } from './bramble/v1/Node.js';
import type { NodeAddress as _bramble_v1_NodeAddress, NodeAddress__Output as _bramble_v1_NodeAddress__Output } from './bramble/v1/NodeAddress.js';
import type { NodeFigures as _bramble_v1_NodeFigures, NodeFigures__Output as _bramble_v1_NodeFigures__Output } from './bramble/v1/NodeFigures.js';
import type { NodeInfo as _bramble_v1_NodeInfo, NodeInfo__Output as _bramble_v1_NodeInfo__Output } from './bramble/v1/NodeInfo.js';
import type { ObjectResponse as _bramble_v1_ObjectResponse, ObjectResponse__Output as _bramble_v1_ObjectResponse__Output } from './bramble/v1/ObjectResponse.js';
import type { PodEventReport as _bramble_v1_PodEventReport, PodEventReport__Output as _bramble_v1_PodEventReport__Output } from './bramble/v1/PodEventReport.js';
import type { PodFigures as _bramble_v1_PodFigures, PodFigures__Output as _bramble_v1_PodFigures__Output } from './bramble/v1/PodFigures.js';
import type { PortConflict as _bramble_v1_PortConflict, PortConflict__Output as _bramble_v1_PortConflict__Output } from './bramble/v1/PortConflict.js';
import type { RaftClient as _bramble_v1_RaftClient, RaftDefinition as _bramble_v1_RaftDefinition } from './bramble/v1/Raft.js';
import type { RaftBatch as _bramble_v1_RaftBatch, RaftBatch__Output as _bramble_v1_RaftBatch__Output } from './bramble/v1/RaftBatch.js';
import type { RaftConfState as _bramble_v1_RaftConfState, RaftConfState__Output as _bramble_v1_RaftConfState__Output } from './bramble/v1/RaftConfState.js';
import type { RaftEntry as _bramble_v1_RaftEntry, RaftEntry__Output as _bramble_v1_RaftEntry__Output } from './bramble/v1/RaftEntry.js';
import type { RaftMessage as _bramble_v1_RaftMessage, RaftMessage__Output as _bramble_v1_RaftMessage__Output } from './bramble/v1/RaftMessage.js';
import type { RaftSendResponse as _bramble_v1_RaftSendResponse, RaftSendResponse__Output as _bramble_v1_RaftSendResponse__Output } from './bramble/v1/RaftSendResponse.js';
import type { RaftSnapshotFrame as _bramble_v1_RaftSnapshotFrame, RaftSnapshotFrame__Output as _bramble_v1_RaftSnapshotFrame__Output } from './bramble/v1/RaftSnapshotFrame.js';
import type { RaftSnapshotMeta as _bramble_v1_RaftSnapshotMeta, RaftSnapshotMeta__Output as _bramble_v1_RaftSnapshotMeta__Output } from './bramble/v1/RaftSnapshotMeta.js';
import type { RaftSnapshotResponse as _bramble_v1_RaftSnapshotResponse, RaftSnapshotResponse__Output as _bramble_v1_RaftSnapshotResponse__Output } from './bramble/v1/RaftSnapshotResponse.js';
import type { RecordEventsRequest as _bramble_v1_RecordEventsRequest, RecordEventsRequest__Output as _bramble_v1_RecordEventsRequest__Output } from './bramble/v1/RecordEventsRequest.js';
import type { RecordEventsResponse as _bramble_v1_RecordEventsResponse, RecordEventsResponse__Output as _bramble_v1_RecordEventsResponse__Output } from './bramble/v1/RecordEventsResponse.js';
import type { RemoveMemberRequest as _bramble_v1_RemoveMemberRequest, RemoveMemberRequest__Output as _bramble_v1_RemoveMemberRequest__Output } from './bramble/v1/RemoveMemberRequest.js';
import type { RemoveMemberResponse as _bramble_v1_RemoveMemberResponse, RemoveMemberResponse__Output as _bramble_v1_RemoveMemberResponse__Output } from './bramble/v1/RemoveMemberResponse.js';
import type { RenewCertificateRequest as _bramble_v1_RenewCertificateRequest, RenewCertificateRequest__Output as _bramble_v1_RenewCertificateRequest__Output } from './bramble/v1/RenewCertificateRequest.js';
import type { RenewCertificateResponse as _bramble_v1_RenewCertificateResponse, RenewCertificateResponse__Output as _bramble_v1_RenewCertificateResponse__Output } from './bramble/v1/RenewCertificateResponse.js';
import type { Resources as _bramble_v1_Resources, Resources__Output as _bramble_v1_Resources__Output } from './bramble/v1/Resources.js';
import type { RotateClusterCaRequest as _bramble_v1_RotateClusterCaRequest, RotateClusterCaRequest__Output as _bramble_v1_RotateClusterCaRequest__Output } from './bramble/v1/RotateClusterCaRequest.js';
import type { RotateClusterCaResponse as _bramble_v1_RotateClusterCaResponse, RotateClusterCaResponse__Output as _bramble_v1_RotateClusterCaResponse__Output } from './bramble/v1/RotateClusterCaResponse.js';
import type { RotateSecretsEncryptionRequest as _bramble_v1_RotateSecretsEncryptionRequest, RotateSecretsEncryptionRequest__Output as _bramble_v1_RotateSecretsEncryptionRequest__Output } from './bramble/v1/RotateSecretsEncryptionRequest.js';
import type { RotateSecretsEncryptionResponse as _bramble_v1_RotateSecretsEncryptionResponse, RotateSecretsEncryptionResponse__Output as _bramble_v1_RotateSecretsEncryptionResponse__Output } from './bramble/v1/RotateSecretsEncryptionResponse.js';
import type { SecretsEncryptionKey as _bramble_v1_SecretsEncryptionKey, SecretsEncryptionKey__Output as _bramble_v1_SecretsEncryptionKey__Output } from './bramble/v1/SecretsEncryptionKey.js';
import type { SecretsEncryptionStatusRequest as _bramble_v1_SecretsEncryptionStatusRequest, SecretsEncryptionStatusRequest__Output as _bramble_v1_SecretsEncryptionStatusRequest__Output } from './bramble/v1/SecretsEncryptionStatusRequest.js';
import type { SecretsEncryptionStatusResponse as _bramble_v1_SecretsEncryptionStatusResponse, SecretsEncryptionStatusResponse__Output as _bramble_v1_SecretsEncryptionStatusResponse__Output } from './bramble/v1/SecretsEncryptionStatusResponse.js';
import type { SetClusterCaRequest as _bramble_v1_SetClusterCaRequest, SetClusterCaRequest__Output as _bramble_v1_SetClusterCaRequest__Output } from './bramble/v1/SetClusterCaRequest.js';
import type { SetClusterCaResponse as _bramble_v1_SetClusterCaResponse, SetClusterCaResponse__Output as _bramble_v1_SetClusterCaResponse__Output } from './bramble/v1/SetClusterCaResponse.js';
import type { SetEncryptionKeysRequest as _bramble_v1_SetEncryptionKeysRequest, SetEncryptionKeysRequest__Output as _bramble_v1_SetEncryptionKeysRequest__Output } from './bramble/v1/SetEncryptionKeysRequest.js';
import type { SetEncryptionKeysResponse as _bramble_v1_SetEncryptionKeysResponse, SetEncryptionKeysResponse__Output as _bramble_v1_SetEncryptionKeysResponse__Output } from './bramble/v1/SetEncryptionKeysResponse.js';
import type { SnapshotChunk as _bramble_v1_SnapshotChunk, SnapshotChunk__Output as _bramble_v1_SnapshotChunk__Output } from './bramble/v1/SnapshotChunk.js';
import type { SnapshotStoreRequest as _bramble_v1_SnapshotStoreRequest, SnapshotStoreRequest__Output as _bramble_v1_SnapshotStoreRequest__Output } from './bramble/v1/SnapshotStoreRequest.js';
import type { TerminalSize as _bramble_v1_TerminalSize, TerminalSize__Output as _bramble_v1_TerminalSize__Output } from './bramble/v1/TerminalSize.js';
import type { TokenInfo as _bramble_v1_TokenInfo, TokenInfo__Output as _bramble_v1_TokenInfo__Output } from './bramble/v1/TokenInfo.js';
import type { TopRequest as _bramble_v1_TopRequest, TopRequest__Output as _bramble_v1_TopRequest__Output } from './bramble/v1/TopRequest.js';
import type { TopResponse as _bramble_v1_TopResponse, TopResponse__Output as _bramble_v1_TopResponse__Output } from './bramble/v1/TopResponse.js';
import type { TunnelDown as _bramble_v1_TunnelDown, TunnelDown__Output as _bramble_v1_TunnelDown__Output } from './bramble/v1/TunnelDown.js';
import type { TunnelUp as _bramble_v1_TunnelUp, TunnelUp__Output as _bramble_v1_TunnelUp__Output } from './bramble/v1/TunnelUp.js';
import type { UpdatePodStatusRequest as _bramble_v1_UpdatePodStatusRequest, UpdatePodStatusRequest__Output as _bramble_v1_UpdatePodStatusRequest__Output } from './bramble/v1/UpdatePodStatusRequest.js';
import type { UpdatePodStatusResponse as _bramble_v1_UpdatePodStatusResponse, UpdatePodStatusResponse__Output as _bramble_v1_UpdatePodStatusResponse__Output } from './bramble/v1/UpdatePodStatusResponse.js';
import type { VersionRequest as _bramble_v1_VersionRequest, VersionRequest__Output as _bramble_v1_VersionRequest__Output } from './bramble/v1/VersionRequest.js';
import type { VersionResponse as _bramble_v1_VersionResponse, VersionResponse__Output as _bramble_v1_VersionResponse__Output } from './bramble/v1/VersionResponse.js';
import type { WatchAssignmentsRequest as _bramble_v1_WatchAssignmentsRequest, WatchAssignmentsRequest__Output as _bramble_v1_WatchAssignmentsRequest__Output } from './bramble/v1/WatchAssignmentsRequest.js';
import type { WatchEvent as _bramble_v1_WatchEvent, WatchEvent__Output as _bramble_v1_WatchEvent__Output } from './bramble/v1/WatchEvent.js';
import type { WatchNetworkRequest as _bramble_v1_WatchNetworkRequest, WatchNetworkRequest__Output as _bramble_v1_WatchNetworkRequest__Output } from './bramble/v1/WatchNetworkRequest.js';
import type { WatchRequest as _bramble_v1_WatchRequest, WatchRequest__Output as _bramble_v1_WatchRequest__Output } from './bramble/v1/WatchRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  bramble: {
    v1: {
      ApplyRequest: MessageTypeDefinition<_bramble_v1_ApplyRequest, _bramble_v1_ApplyRequest__Output>
      ApplyResponse: MessageTypeDefinition<_bramble_v1_ApplyResponse, _bramble_v1_ApplyResponse__Output>
      ApplyResult: MessageTypeDefinition<_bramble_v1_ApplyResult, _bramble_v1_ApplyResult__Output>
      AssignmentEvent: MessageTypeDefinition<_bramble_v1_AssignmentEvent, _bramble_v1_AssignmentEvent__Output>
      CancelRequest: MessageTypeDefinition<_bramble_v1_CancelRequest, _bramble_v1_CancelRequest__Output>
      Cluster: SubtypeConstructor<typeof grpc.Client, _bramble_v1_ClusterClient> & { service: _bramble_v1_ClusterDefinition }
      ClusterStatusRequest: MessageTypeDefinition<_bramble_v1_ClusterStatusRequest, _bramble_v1_ClusterStatusRequest__Output>
      ClusterStatusResponse: MessageTypeDefinition<_bramble_v1_ClusterStatusResponse, _bramble_v1_ClusterStatusResponse__Output>
      CreateTokenRequest: MessageTypeDefinition<_bramble_v1_CreateTokenRequest, _bramble_v1_CreateTokenRequest__Output>
      DeleteRequest: MessageTypeDefinition<_bramble_v1_DeleteRequest, _bramble_v1_DeleteRequest__Output>
      DeleteResponse: MessageTypeDefinition<_bramble_v1_DeleteResponse, _bramble_v1_DeleteResponse__Output>
      DeleteTokenRequest: MessageTypeDefinition<_bramble_v1_DeleteTokenRequest, _bramble_v1_DeleteTokenRequest__Output>
      DeleteTokenResponse: MessageTypeDefinition<_bramble_v1_DeleteTokenResponse, _bramble_v1_DeleteTokenResponse__Output>
      ExecExit: MessageTypeDefinition<_bramble_v1_ExecExit, _bramble_v1_ExecExit__Output>
      ExecRequest: MessageTypeDefinition<_bramble_v1_ExecRequest, _bramble_v1_ExecRequest__Output>
      ExecResponse: MessageTypeDefinition<_bramble_v1_ExecResponse, _bramble_v1_ExecResponse__Output>
      ExecStart: MessageTypeDefinition<_bramble_v1_ExecStart, _bramble_v1_ExecStart__Output>
      ExecStdinEof: MessageTypeDefinition<_bramble_v1_ExecStdinEof, _bramble_v1_ExecStdinEof__Output>
      ForwardRequest: MessageTypeDefinition<_bramble_v1_ForwardRequest, _bramble_v1_ForwardRequest__Output>
      ForwardResponse: MessageTypeDefinition<_bramble_v1_ForwardResponse, _bramble_v1_ForwardResponse__Output>
      GetRequest: MessageTypeDefinition<_bramble_v1_GetRequest, _bramble_v1_GetRequest__Output>
      HeartbeatRequest: MessageTypeDefinition<_bramble_v1_HeartbeatRequest, _bramble_v1_HeartbeatRequest__Output>
      HeartbeatResponse: MessageTypeDefinition<_bramble_v1_HeartbeatResponse, _bramble_v1_HeartbeatResponse__Output>
      ImageChunk: MessageTypeDefinition<_bramble_v1_ImageChunk, _bramble_v1_ImageChunk__Output>
      ImportImageResponse: MessageTypeDefinition<_bramble_v1_ImportImageResponse, _bramble_v1_ImportImageResponse__Output>
      JoinMemberRequest: MessageTypeDefinition<_bramble_v1_JoinMemberRequest, _bramble_v1_JoinMemberRequest__Output>
      JoinMemberResponse: MessageTypeDefinition<_bramble_v1_JoinMemberResponse, _bramble_v1_JoinMemberResponse__Output>
      JoinRequest: MessageTypeDefinition<_bramble_v1_JoinRequest, _bramble_v1_JoinRequest__Output>
      JoinResponse: MessageTypeDefinition<_bramble_v1_JoinResponse, _bramble_v1_JoinResponse__Output>
      ListRequest: MessageTypeDefinition<_bramble_v1_ListRequest, _bramble_v1_ListRequest__Output>
      ListResponse: MessageTypeDefinition<_bramble_v1_ListResponse, _bramble_v1_ListResponse__Output>
      ListTokensRequest: MessageTypeDefinition<_bramble_v1_ListTokensRequest, _bramble_v1_ListTokensRequest__Output>
      ListTokensResponse: MessageTypeDefinition<_bramble_v1_ListTokensResponse, _bramble_v1_ListTokensResponse__Output>
      LogChunk: MessageTypeDefinition<_bramble_v1_LogChunk, _bramble_v1_LogChunk__Output>
      LogsRequest: MessageTypeDefinition<_bramble_v1_LogsRequest, _bramble_v1_LogsRequest__Output>
      MemberInfo: MessageTypeDefinition<_bramble_v1_MemberInfo, _bramble_v1_MemberInfo__Output>
      MemberState: MessageTypeDefinition<_bramble_v1_MemberState, _bramble_v1_MemberState__Output>
      MemberStatusRequest: MessageTypeDefinition<_bramble_v1_MemberStatusRequest, _bramble_v1_MemberStatusRequest__Output>
      MemberStatusResponse: MessageTypeDefinition<_bramble_v1_MemberStatusResponse, _bramble_v1_MemberStatusResponse__Output>
      Members: SubtypeConstructor<typeof grpc.Client, _bramble_v1_MembersClient> & { service: _bramble_v1_MembersDefinition }
      NetworkEvent: MessageTypeDefinition<_bramble_v1_NetworkEvent, _bramble_v1_NetworkEvent__Output>
      Node: SubtypeConstructor<typeof grpc.Client, _bramble_v1_NodeClient> & { service: _bramble_v1_NodeDefinition }
      NodeAddress: MessageTypeDefinition<_bramble_v1_NodeAddress, _bramble_v1_NodeAddress__Output>
      NodeFigures: MessageTypeDefinition<_bramble_v1_NodeFigures, _bramble_v1_NodeFigures__Output>
      NodeInfo: MessageTypeDefinition<_bramble_v1_NodeInfo, _bramble_v1_NodeInfo__Output>
      ObjectResponse: MessageTypeDefinition<_bramble_v1_ObjectResponse, _bramble_v1_ObjectResponse__Output>
      PodEventReport: MessageTypeDefinition<_bramble_v1_PodEventReport, _bramble_v1_PodEventReport__Output>
      PodFigures: MessageTypeDefinition<_bramble_v1_PodFigures, _bramble_v1_PodFigures__Output>
      PortConflict: MessageTypeDefinition<_bramble_v1_PortConflict, _bramble_v1_PortConflict__Output>
      Raft: SubtypeConstructor<typeof grpc.Client, _bramble_v1_RaftClient> & { service: _bramble_v1_RaftDefinition }
      RaftBatch: MessageTypeDefinition<_bramble_v1_RaftBatch, _bramble_v1_RaftBatch__Output>
      RaftConfState: MessageTypeDefinition<_bramble_v1_RaftConfState, _bramble_v1_RaftConfState__Output>
      RaftEntry: MessageTypeDefinition<_bramble_v1_RaftEntry, _bramble_v1_RaftEntry__Output>
      RaftEntryType: EnumTypeDefinition
      RaftMessage: MessageTypeDefinition<_bramble_v1_RaftMessage, _bramble_v1_RaftMessage__Output>
      RaftMessageType: EnumTypeDefinition
      RaftSendResponse: MessageTypeDefinition<_bramble_v1_RaftSendResponse, _bramble_v1_RaftSendResponse__Output>
      RaftSnapshotFrame: MessageTypeDefinition<_bramble_v1_RaftSnapshotFrame, _bramble_v1_RaftSnapshotFrame__Output>
      RaftSnapshotMeta: MessageTypeDefinition<_bramble_v1_RaftSnapshotMeta, _bramble_v1_RaftSnapshotMeta__Output>
      RaftSnapshotResponse: MessageTypeDefinition<_bramble_v1_RaftSnapshotResponse, _bramble_v1_RaftSnapshotResponse__Output>
      RecordEventsRequest: MessageTypeDefinition<_bramble_v1_RecordEventsRequest, _bramble_v1_RecordEventsRequest__Output>
      RecordEventsResponse: MessageTypeDefinition<_bramble_v1_RecordEventsResponse, _bramble_v1_RecordEventsResponse__Output>
      RemoveMemberRequest: MessageTypeDefinition<_bramble_v1_RemoveMemberRequest, _bramble_v1_RemoveMemberRequest__Output>
      RemoveMemberResponse: MessageTypeDefinition<_bramble_v1_RemoveMemberResponse, _bramble_v1_RemoveMemberResponse__Output>
      RenewCertificateRequest: MessageTypeDefinition<_bramble_v1_RenewCertificateRequest, _bramble_v1_RenewCertificateRequest__Output>
      RenewCertificateResponse: MessageTypeDefinition<_bramble_v1_RenewCertificateResponse, _bramble_v1_RenewCertificateResponse__Output>
      Resources: MessageTypeDefinition<_bramble_v1_Resources, _bramble_v1_Resources__Output>
      RotateClusterCaRequest: MessageTypeDefinition<_bramble_v1_RotateClusterCaRequest, _bramble_v1_RotateClusterCaRequest__Output>
      RotateClusterCaResponse: MessageTypeDefinition<_bramble_v1_RotateClusterCaResponse, _bramble_v1_RotateClusterCaResponse__Output>
      RotateSecretsEncryptionRequest: MessageTypeDefinition<_bramble_v1_RotateSecretsEncryptionRequest, _bramble_v1_RotateSecretsEncryptionRequest__Output>
      RotateSecretsEncryptionResponse: MessageTypeDefinition<_bramble_v1_RotateSecretsEncryptionResponse, _bramble_v1_RotateSecretsEncryptionResponse__Output>
      SecretsEncryptionKey: MessageTypeDefinition<_bramble_v1_SecretsEncryptionKey, _bramble_v1_SecretsEncryptionKey__Output>
      SecretsEncryptionStatusRequest: MessageTypeDefinition<_bramble_v1_SecretsEncryptionStatusRequest, _bramble_v1_SecretsEncryptionStatusRequest__Output>
      SecretsEncryptionStatusResponse: MessageTypeDefinition<_bramble_v1_SecretsEncryptionStatusResponse, _bramble_v1_SecretsEncryptionStatusResponse__Output>
      SetClusterCaRequest: MessageTypeDefinition<_bramble_v1_SetClusterCaRequest, _bramble_v1_SetClusterCaRequest__Output>
      SetClusterCaResponse: MessageTypeDefinition<_bramble_v1_SetClusterCaResponse, _bramble_v1_SetClusterCaResponse__Output>
      SetEncryptionKeysRequest: MessageTypeDefinition<_bramble_v1_SetEncryptionKeysRequest, _bramble_v1_SetEncryptionKeysRequest__Output>
      SetEncryptionKeysResponse: MessageTypeDefinition<_bramble_v1_SetEncryptionKeysResponse, _bramble_v1_SetEncryptionKeysResponse__Output>
      SnapshotChunk: MessageTypeDefinition<_bramble_v1_SnapshotChunk, _bramble_v1_SnapshotChunk__Output>
      SnapshotStoreRequest: MessageTypeDefinition<_bramble_v1_SnapshotStoreRequest, _bramble_v1_SnapshotStoreRequest__Output>
      TerminalSize: MessageTypeDefinition<_bramble_v1_TerminalSize, _bramble_v1_TerminalSize__Output>
      TokenInfo: MessageTypeDefinition<_bramble_v1_TokenInfo, _bramble_v1_TokenInfo__Output>
      TopRequest: MessageTypeDefinition<_bramble_v1_TopRequest, _bramble_v1_TopRequest__Output>
      TopResponse: MessageTypeDefinition<_bramble_v1_TopResponse, _bramble_v1_TopResponse__Output>
      TunnelDown: MessageTypeDefinition<_bramble_v1_TunnelDown, _bramble_v1_TunnelDown__Output>
      TunnelUp: MessageTypeDefinition<_bramble_v1_TunnelUp, _bramble_v1_TunnelUp__Output>
      UpdatePodStatusRequest: MessageTypeDefinition<_bramble_v1_UpdatePodStatusRequest, _bramble_v1_UpdatePodStatusRequest__Output>
      UpdatePodStatusResponse: MessageTypeDefinition<_bramble_v1_UpdatePodStatusResponse, _bramble_v1_UpdatePodStatusResponse__Output>
      VersionRequest: MessageTypeDefinition<_bramble_v1_VersionRequest, _bramble_v1_VersionRequest__Output>
      VersionResponse: MessageTypeDefinition<_bramble_v1_VersionResponse, _bramble_v1_VersionResponse__Output>
      WatchAssignmentsRequest: MessageTypeDefinition<_bramble_v1_WatchAssignmentsRequest, _bramble_v1_WatchAssignmentsRequest__Output>
      WatchEvent: MessageTypeDefinition<_bramble_v1_WatchEvent, _bramble_v1_WatchEvent__Output>
      WatchNetworkRequest: MessageTypeDefinition<_bramble_v1_WatchNetworkRequest, _bramble_v1_WatchNetworkRequest__Output>
      WatchRequest: MessageTypeDefinition<_bramble_v1_WatchRequest, _bramble_v1_WatchRequest__Output>
    }
  }
}

