// Original file: proto/bramble.proto

import type { NodeInfo as _bramble_v1_NodeInfo, NodeInfo__Output as _bramble_v1_NodeInfo__Output } from '../../bramble/v1/NodeInfo.js';
import type { Resources as _bramble_v1_Resources, Resources__Output as _bramble_v1_Resources__Output } from '../../bramble/v1/Resources.js';
import type { NodeAddress as _bramble_v1_NodeAddress, NodeAddress__Output as _bramble_v1_NodeAddress__Output } from '../../bramble/v1/NodeAddress.js';
import type { NodeFigures as _bramble_v1_NodeFigures, NodeFigures__Output as _bramble_v1_NodeFigures__Output } from '../../bramble/v1/NodeFigures.js';
import type { PodFigures as _bramble_v1_PodFigures, PodFigures__Output as _bramble_v1_PodFigures__Output } from '../../bramble/v1/PodFigures.js';
import type { PortConflict as _bramble_v1_PortConflict, PortConflict__Output as _bramble_v1_PortConflict__Output } from '../../bramble/v1/PortConflict.js';

export interface HeartbeatRequest {
  'nodeName'?: (string);
  'info'?: (_bramble_v1_NodeInfo | null);
  'capacity'?: (_bramble_v1_Resources | null);
  'allocatable'?: (_bramble_v1_Resources | null);
  'addresses'?: (_bramble_v1_NodeAddress)[];
  'figures'?: (_bramble_v1_NodeFigures | null);
  'pods'?: (_bramble_v1_PodFigures)[];
  'labels'?: ({[key: string]: string});
  'portConflicts'?: (_bramble_v1_PortConflict)[];
}

export interface HeartbeatRequest__Output {
  'nodeName': (string);
  'info': (_bramble_v1_NodeInfo__Output | null);
  'capacity': (_bramble_v1_Resources__Output | null);
  'allocatable': (_bramble_v1_Resources__Output | null);
  'addresses': (_bramble_v1_NodeAddress__Output)[];
  'figures': (_bramble_v1_NodeFigures__Output | null);
  'pods': (_bramble_v1_PodFigures__Output)[];
  'labels': ({[key: string]: string});
  'portConflicts': (_bramble_v1_PortConflict__Output)[];
}
