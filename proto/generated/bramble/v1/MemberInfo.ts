// Original file: proto/bramble.proto


export interface MemberInfo {
  'name'?: (string);
  'address'?: (string);
  'learner'?: (boolean);
}

export interface MemberInfo__Output {
  'name': (string);
  'address': (string);
  'learner': (boolean);
}
