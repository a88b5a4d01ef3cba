// Original file: proto/bramble.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AssignmentEvent as _bramble_v1_AssignmentEvent, AssignmentEvent__Output as _bramble_v1_AssignmentEvent__Output } from '../../bramble/v1/AssignmentEvent.js';
import type { HeartbeatRequest as _bramble_v1_HeartbeatRequest, HeartbeatRequest__Output as _bramble_v1_HeartbeatRequest__Output } from '../../bramble/v1/HeartbeatRequest.js';
import type { HeartbeatResponse as _bramble_v1_HeartbeatResponse, HeartbeatResponse__Output as _bramble_v1_HeartbeatResponse__Output } from '../../bramble/v1/HeartbeatResponse.js';
import type { JoinRequest as _bramble_v1_JoinRequest, JoinRequest__Output as _bramble_v1_JoinRequest__Output } from '../../bramble/v1/JoinRequest.js';
import type { JoinResponse as _bramble_v1_JoinResponse, JoinResponse__Output as _bramble_v1_JoinResponse__Output } from '../../bramble/v1/JoinResponse.js';
import type { NetworkEvent as _bramble_v1_NetworkEvent, NetworkEvent__Output as _bramble_v1_NetworkEvent__Output } from '../../bramble/v1/NetworkEvent.js';
import type { RecordEventsRequest as _bramble_v1_RecordEventsRequest, RecordEventsRequest__Output as _bramble_v1_RecordEventsRequest__Output } from '../../bramble/v1/RecordEventsRequest.js';
import type { RecordEventsResponse as _bramble_v1_RecordEventsResponse, RecordEventsResponse__Output as _bramble_v1_RecordEventsResponse__Output } from '../../bramble/v1/RecordEventsResponse.js';
import type { RenewCertificateRequest as _bramble_v1_RenewCertificateRequest, RenewCertificateRequest__Output as _bramble_v1_RenewCertificateRequest__Output } from '../../bramble/v1/RenewCertificateRequest.js';
import type { RenewCertificateResponse as _bramble_v1_RenewCertificateResponse, RenewCertificateResponse__Output as _bramble_v1_RenewCertificateResponse__Output } from '../../bramble/v1/RenewCertificateResponse.js';
import type { TunnelDown as _bramble_v1_TunnelDown, TunnelDown__Output as _bramble_v1_TunnelDown__Output } from '../../bramble/v1/TunnelDown.js';
import type { TunnelUp as _bramble_v1_TunnelUp, TunnelUp__Output as _bramble_v1_TunnelUp__Output } from '../../bramble/v1/TunnelUp.js';
import type { UpdatePodStatusRequest as _bramble_v1_UpdatePodStatusRequest, UpdatePodStatusRequest__Output as _bramble_v1_UpdatePodStatusRequest__Output } from '../../bramble/v1/UpdatePodStatusRequest.js';
import type { UpdatePodStatusResponse as _bramble_v1_UpdatePodStatusResponse, UpdatePodStatusResponse__Output as _bramble_v1_UpdatePodStatusResponse__Output } from '../../bramble/v1/UpdatePodStatusResponse.js';
import type { WatchAssignmentsRequest as _bramble_v1_WatchAssignmentsRequest, WatchAssignmentsRequest__Output as _bramble_v1_WatchAssignmentsRequest__Output } from '../../bramble/v1/WatchAssignmentsRequest.js';
import type { WatchNetworkRequest as _bramble_v1_WatchNetworkRequest, WatchNetworkRequest__Output as _bramble_v1_WatchNetworkRequest__Output } from '../../bramble/v1/WatchNetworkRequest.js';

export interface NodeClient extends grpc.Client {
  Heartbeat(argument: _bramble_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _bramble_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _bramble_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _bramble_v1_HeartbeatRequest, callback: grpc.requestCallback<_bramble_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _bramble_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _bramble_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _bramble_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _bramble_v1_HeartbeatRequest, callback: grpc.requestCallback<_bramble_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  
  Join(argument: _bramble_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _bramble_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _bramble_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _bramble_v1_JoinRequest, callback: grpc.requestCallback<_bramble_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _bramble_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _bramble_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _bramble_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _bramble_v1_JoinRequest, callback: grpc.requestCallback<_bramble_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  
  RecordEvents(argument: _bramble_v1_RecordEventsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RecordEventsResponse__Output>): grpc.ClientUnaryCall;
  RecordEvents(argument: _bramble_v1_RecordEventsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RecordEventsResponse__Output>): grpc.ClientUnaryCall;
  RecordEvents(argument: _bramble_v1_RecordEventsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RecordEventsResponse__Output>): grpc.ClientUnaryCall;
  RecordEvents(argument: _bramble_v1_RecordEventsRequest, callback: grpc.requestCallback<_bramble_v1_RecordEventsResponse__Output>): grpc.ClientUnaryCall;
  recordEvents(argument: _bramble_v1_RecordEventsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RecordEventsResponse__Output>): grpc.ClientUnaryCall;
  recordEvents(argument: _bramble_v1_RecordEventsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RecordEventsResponse__Output>): grpc.ClientUnaryCall;
  recordEvents(argument: _bramble_v1_RecordEventsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RecordEventsResponse__Output>): grpc.ClientUnaryCall;
  recordEvents(argument: _bramble_v1_RecordEventsRequest, callback: grpc.requestCallback<_bramble_v1_RecordEventsResponse__Output>): grpc.ClientUnaryCall;
  
  RenewCertificate(argument: _bramble_v1_RenewCertificateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RenewCertificateResponse__Output>): grpc.ClientUnaryCall;
  RenewCertificate(argument: _bramble_v1_RenewCertificateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RenewCertificateResponse__Output>): grpc.ClientUnaryCall;
  RenewCertificate(argument: _bramble_v1_RenewCertificateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RenewCertificateResponse__Output>): grpc.ClientUnaryCall;
  RenewCertificate(argument: _bramble_v1_RenewCertificateRequest, callback: grpc.requestCallback<_bramble_v1_RenewCertificateResponse__Output>): grpc.ClientUnaryCall;
  renewCertificate(argument: _bramble_v1_RenewCertificateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RenewCertificateResponse__Output>): grpc.ClientUnaryCall;
  renewCertificate(argument: _bramble_v1_RenewCertificateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_RenewCertificateResponse__Output>): grpc.ClientUnaryCall;
  renewCertificate(argument: _bramble_v1_RenewCertificateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_RenewCertificateResponse__Output>): grpc.ClientUnaryCall;
  renewCertificate(argument: _bramble_v1_RenewCertificateRequest, callback: grpc.requestCallback<_bramble_v1_RenewCertificateResponse__Output>): grpc.ClientUnaryCall;
  
  Tunnel(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_bramble_v1_TunnelUp, _bramble_v1_TunnelDown__Output>;
  Tunnel(options?: grpc.CallOptions): grpc.ClientDuplexStream<_bramble_v1_TunnelUp, _bramble_v1_TunnelDown__Output>;
  tunnel(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_bramble_v1_TunnelUp, _bramble_v1_TunnelDown__Output>;
  tunnel(options?: grpc.CallOptions): grpc.ClientDuplexStream<_bramble_v1_TunnelUp, _bramble_v1_TunnelDown__Output>;
  
  UpdatePodStatus(argument: _bramble_v1_UpdatePodStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_UpdatePodStatusResponse__Output>): grpc.ClientUnaryCall;
  UpdatePodStatus(argument: _bramble_v1_UpdatePodStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_UpdatePodStatusResponse__Output>): grpc.ClientUnaryCall;
  UpdatePodStatus(argument: _bramble_v1_UpdatePodStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_UpdatePodStatusResponse__Output>): grpc.ClientUnaryCall;
  UpdatePodStatus(argument: _bramble_v1_UpdatePodStatusRequest, callback: grpc.requestCallback<_bramble_v1_UpdatePodStatusResponse__Output>): grpc.ClientUnaryCall;
  updatePodStatus(argument: _bramble_v1_UpdatePodStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_UpdatePodStatusResponse__Output>): grpc.ClientUnaryCall;
  updatePodStatus(argument: _bramble_v1_UpdatePodStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_bramble_v1_UpdatePodStatusResponse__Output>): grpc.ClientUnaryCall;
  updatePodStatus(argument: _bramble_v1_UpdatePodStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_bramble_v1_UpdatePodStatusResponse__Output>): grpc.ClientUnaryCall;
  updatePodStatus(argument: _bramble_v1_UpdatePodStatusRequest, callback: grpc.requestCallback<_bramble_v1_UpdatePodStatusResponse__Output>): grpc.ClientUnaryCall;
  
  WatchAssignments(argument: _bramble_v1_WatchAssignmentsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_AssignmentEvent__Output>;
  WatchAssignments(argument: _bramble_v1_WatchAssignmentsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_AssignmentEvent__Output>;
  watchAssignments(argument: _bramble_v1_WatchAssignmentsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_AssignmentEvent__Output>;
  watchAssignments(argument: _bramble_v1_WatchAssignmentsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_AssignmentEvent__Output>;
  
  WatchNetwork(argument: _bramble_v1_WatchNetworkRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_NetworkEvent__Output>;
  WatchNetwork(argument: _bramble_v1_WatchNetworkRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_NetworkEvent__Output>;
  watchNetwork(argument: _bramble_v1_WatchNetworkRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_NetworkEvent__Output>;
  watchNetwork(argument: _bramble_v1_WatchNetworkRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_bramble_v1_NetworkEvent__Output>;
  
}

export interface NodeHandlers extends grpc.UntypedServiceImplementation {
  Heartbeat: grpc.handleUnaryCall<_bramble_v1_HeartbeatRequest__Output, _bramble_v1_HeartbeatResponse>;
  
  Join: grpc.handleUnaryCall<_bramble_v1_JoinRequest__Output, _bramble_v1_JoinResponse>;
  
  RecordEvents: grpc.handleUnaryCall<_bramble_v1_RecordEventsRequest__Output, _bramble_v1_RecordEventsResponse>;
  
  RenewCertificate: grpc.handleUnaryCall<_bramble_v1_RenewCertificateRequest__Output, _bramble_v1_RenewCertificateResponse>;
  
  Tunnel: grpc.handleBidiStreamingCall<_bramble_v1_TunnelUp__Output, _bramble_v1_TunnelDown>;
  
  UpdatePodStatus: grpc.handleUnaryCall<_bramble_v1_UpdatePodStatusRequest__Output, _bramble_v1_UpdatePodStatusResponse>;
  
  WatchAssignments: grpc.handleServerStreamingCall<_bramble_v1_WatchAssignmentsRequest__Output, _bramble_v1_AssignmentEvent>;
  
  WatchNetwork: grpc.handleServerStreamingCall<_bramble_v1_WatchNetworkRequest__Output, _bramble_v1_NetworkEvent>;
  
}

export interface NodeDefinition extends grpc.ServiceDefinition {
  Heartbeat: MethodDefinition<_bramble_v1_HeartbeatRequest, _bramble_v1_HeartbeatResponse, _bramble_v1_HeartbeatRequest__Output, _bramble_v1_HeartbeatResponse__Output>
  Join: MethodDefinition<_bramble_v1_JoinRequest, _bramble_v1_JoinResponse, _bramble_v1_JoinRequest__Output, _bramble_v1_JoinResponse__Output>
  RecordEvents: MethodDefinition<_bramble_v1_RecordEventsRequest, _bramble_v1_RecordEventsResponse, _bramble_v1_RecordEventsRequest__Output, _bramble_v1_RecordEventsResponse__Output>
  RenewCertificate: MethodDefinition<_bramble_v1_RenewCertificateRequest, _bramble_v1_RenewCertificateResponse, _bramble_v1_RenewCertificateRequest__Output, _bramble_v1_RenewCertificateResponse__Output>
  Tunnel: MethodDefinition<_bramble_v1_TunnelUp, _bramble_v1_TunnelDown, _bramble_v1_TunnelUp__Output, _bramble_v1_TunnelDown__Output>
  UpdatePodStatus: MethodDefinition<_bramble_v1_UpdatePodStatusRequest, _bramble_v1_UpdatePodStatusResponse, _bramble_v1_UpdatePodStatusRequest__Output, _bramble_v1_UpdatePodStatusResponse__Output>
  WatchAssignments: MethodDefinition<_bramble_v1_WatchAssignmentsRequest, _bramble_v1_AssignmentEvent, _bramble_v1_WatchAssignmentsRequest__Output, _bramble_v1_AssignmentEvent__Output>
  WatchNetwork: MethodDefinition<_bramble_v1_WatchNetworkRequest, _bramble_v1_NetworkEvent, _bramble_v1_WatchNetworkRequest__Output, _bramble_v1_NetworkEvent__Output>
}
