// Original file: proto/bramble.proto


export interface NodeInfo {
  'architecture'?: (string);
  'operatingSystem'?: (string);
  'osImage'?: (string);
  'kernelVersion'?: (string);
  'cpuModel'?: (string);
  'cpuCount'?: (number);
  'boardModel'?: (string);
  'agentVersion'?: (string);
  'containerRuntimeVersion'?: (string);
}

export interface NodeInfo__Output {
  'architecture': (string);
  'operatingSystem': (string);
  'osImage': (string);
  'kernelVersion': (string);
  'cpuModel': (string);
  'cpuCount': (number);
  'boardModel': (string);
  'agentVersion': (string);
  'containerRuntimeVersion': (string);
}
