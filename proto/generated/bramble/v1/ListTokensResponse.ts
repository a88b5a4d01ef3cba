// Original file: proto/bramble.proto

import type { TokenInfo as _bramble_v1_TokenInfo, TokenInfo__Output as _bramble_v1_TokenInfo__Output } from '../../bramble/v1/TokenInfo.js';

export interface ListTokensResponse {
  'tokens'?: (_bramble_v1_TokenInfo)[];
}

export interface ListTokensResponse__Output {
  'tokens': (_bramble_v1_TokenInfo__Output)[];
}
