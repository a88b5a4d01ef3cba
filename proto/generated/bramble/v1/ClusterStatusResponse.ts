// Original file: proto/bramble.proto

import type { MemberState as _bramble_v1_MemberState, MemberState__Output as _bramble_v1_MemberState__Output } from '../../bramble/v1/MemberState.js';

export interface ClusterStatusResponse {
  'members'?: (_bramble_v1_MemberState)[];
  'leader'?: (string);
}

export interface ClusterStatusResponse__Output {
  'members': (_bramble_v1_MemberState__Output)[];
  'leader': (string);
}
