// Original file: proto/bramble.proto

import type { SecretsEncryptionKey as _bramble_v1_SecretsEncryptionKey, SecretsEncryptionKey__Output as _bramble_v1_SecretsEncryptionKey__Output } from '../../bramble/v1/SecretsEncryptionKey.js';
import type { Long } from '@grpc/proto-loader';

export interface SecretsEncryptionStatusResponse {
  'activeKeyId'?: (string);
  'keys'?: (_bramble_v1_SecretsEncryptionKey)[];
  'plaintextSecrets'?: (number | string | Long);
  'unreadableSecrets'?: (number | string | Long);
  'totalSecrets'?: (number | string | Long);
  'revision'?: (number | string | Long);
}

export interface SecretsEncryptionStatusResponse__Output {
  'activeKeyId': (string);
  'keys': (_bramble_v1_SecretsEncryptionKey__Output)[];
  'plaintextSecrets': (number);
  'unreadableSecrets': (number);
  'totalSecrets': (number);
  'revision': (number);
}
