// Original file: proto/bramble.proto

import type { NodeFigures as _bramble_v1_NodeFigures, NodeFigures__Output as _bramble_v1_NodeFigures__Output } from '../../bramble/v1/NodeFigures.js';
import type { PodFigures as _bramble_v1_PodFigures, PodFigures__Output as _bramble_v1_PodFigures__Output } from '../../bramble/v1/PodFigures.js';

export interface TopResponse {
  'nodes'?: (_bramble_v1_NodeFigures)[];
  'pods'?: (_bramble_v1_PodFigures)[];
}

export interface TopResponse__Output {
  'nodes': (_bramble_v1_NodeFigures__Output)[];
  'pods': (_bramble_v1_PodFigures__Output)[];
}
