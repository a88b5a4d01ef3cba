// Original file: proto/bramble.proto

import type { MemberInfo as _bramble_v1_MemberInfo, MemberInfo__Output as _bramble_v1_MemberInfo__Output } from '../../bramble/v1/MemberInfo.js';

export interface RemoveMemberResponse {
  'members'?: (_bramble_v1_MemberInfo)[];
}

export interface RemoveMemberResponse__Output {
  'members': (_bramble_v1_MemberInfo__Output)[];
}
