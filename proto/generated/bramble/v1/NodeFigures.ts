// Original file: proto/bramble.proto

import type { Long } from '@grpc/proto-loader';

export interface NodeFigures {
  'name'?: (string);
  'cpuPercent'?: (number | string);
  'memoryUsedBytes'?: (number | string | Long);
  'memoryTotalBytes'?: (number | string | Long);
  'temperatureCelsius'?: (number | string);
  'hasTemperature'?: (boolean);
  'load1'?: (number | string);
}

export interface NodeFigures__Output {
  'name': (string);
  'cpuPercent': (number);
  'memoryUsedBytes': (number);
  'memoryTotalBytes': (number);
  'temperatureCelsius': (number);
  'hasTemperature': (boolean);
  'load1': (number);
}
