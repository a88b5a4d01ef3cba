// Original file: proto/bramble.proto

import type { MemberInfo as _bramble_v1_MemberInfo, MemberInfo__Output as _bramble_v1_MemberInfo__Output } from '../../bramble/v1/MemberInfo.js';

export interface JoinMemberResponse {
  'caPem'?: (string);
  'caKeyPem'?: (string);
  'encryptionKeys'?: (string);
  'members'?: (_bramble_v1_MemberInfo)[];
}

export interface JoinMemberResponse__Output {
  'caPem': (string);
  'caKeyPem': (string);
  'encryptionKeys': (string);
  'members': (_bramble_v1_MemberInfo__Output)[];
}
