// Original file: proto/bramble.proto

import type { PodEventReport as _bramble_v1_PodEventReport, PodEventReport__Output as _bramble_v1_PodEventReport__Output } from '../../bramble/v1/PodEventReport.js';

export interface RecordEventsRequest {
  'nodeName'?: (string);
  'events'?: (_bramble_v1_PodEventReport)[];
}

export interface RecordEventsRequest__Output {
  'nodeName': (string);
  'events': (_bramble_v1_PodEventReport__Output)[];
}
