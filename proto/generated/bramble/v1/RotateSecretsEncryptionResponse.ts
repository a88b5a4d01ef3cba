// Original file: proto/bramble.proto

import type { SecretsEncryptionStatusResponse as _bramble_v1_SecretsEncryptionStatusResponse, SecretsEncryptionStatusResponse__Output as _bramble_v1_SecretsEncryptionStatusResponse__Output } from '../../bramble/v1/SecretsEncryptionStatusResponse.js';
import type { Long } from '@grpc/proto-loader';

export interface RotateSecretsEncryptionResponse {
  'previousKeyId'?: (string);
  'activeKeyId'?: (string);
  'reencrypted'?: (number | string | Long);
  'removedKeyIds'?: (string)[];
  'keptKeyIds'?: (string)[];
  'failures'?: (string)[];
  'status'?: (_bramble_v1_SecretsEncryptionStatusResponse | null);
}

export interface RotateSecretsEncryptionResponse__Output {
  'previousKeyId': (string);
  'activeKeyId': (string);
  'reencrypted': (number);
  'removedKeyIds': (string)[];
  'keptKeyIds': (string)[];
  'failures': (string)[];
  'status': (_bramble_v1_SecretsEncryptionStatusResponse__Output | null);
}
