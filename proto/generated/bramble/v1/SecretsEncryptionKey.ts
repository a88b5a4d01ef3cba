// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface SecretsEncryptionKey {
  'id'?: (string);
  'active'?: (boolean);
  'secrets'?: (number | string | Long);
}

export interface SecretsEncryptionKey__Output {
  'id': (string);
  'active': (boolean);
  'secrets': (number);
}
