// Original file: proto/bramble.proto

export const RaftEntryType = {
  RAFT_ENTRY_NORMAL: 'RAFT_ENTRY_NORMAL',
  RAFT_ENTRY_CONF: 'RAFT_ENTRY_CONF',
} as const;

export type RaftEntryType =
  | 'RAFT_ENTRY_NORMAL'
  | 0
  | 'RAFT_ENTRY_CONF'
  | 1

export type RaftEntryType__Output = typeof RaftEntryType[keyof typeof RaftEntryType]
