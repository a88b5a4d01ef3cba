// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface PodFigures {
  'namespace'?: (string);
  'name'?: (string);
  'node'?: (string);
  'cpuMillicores'?: (number | string);
  'memoryBytes'?: (number | string | Long);
}

export interface PodFigures__Output {
  'namespace': (string);
  'name': (string);
  'node': (string);
  'cpuMillicores': (number);
  'memoryBytes': (number);
}
