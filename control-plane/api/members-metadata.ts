// The members' client addresses as a replicated server attaches them to every
// Cluster answer (initial gRPC metadata), so the CLI learns membership changes
// from calls it makes anyway: no extra call, nothing periodic. What arrives is
// checked here before the CLI acts on it: a server is trusted with the config
// file it may rewrite only as far as a short list of dialable addresses.
import { checkMemberAddress } from './api-members.js';

export const MEMBERS_METADATA_KEY = 'bramble-members';

/** Most members a list may hold: Raft clusters have 3 or 5; an agent's list has the same bound. */
export const MAX_MEMBERS = 16;

/** HOST:PORT at its longest: a 253-character name or a bracketed IPv6 address, a colon and 5 digits. */
const MAX_ADDRESS_LENGTH = 253 + 1 + 5;
/** The whole value: MAX_MEMBERS addresses and their commas. */
export const MAX_MEMBERS_METADATA_LENGTH = MAX_MEMBERS * (MAX_ADDRESS_LENGTH + 1);

export function encodeMembers(addresses: readonly string[]): string {
  return [...new Set(addresses.filter((a) => a !== ''))].join(',');
}

export type DecodedMembers = { servers: string[] } | { problem: string };

/**
 * The addresses in the metadata values grpc-js hands over (strings, or Buffers for a
 * -bin key), or why they are refused as a whole: a list with one bad entry is not
 * half-trusted. No value is no news (a single server sends none).
 */
export function decodeMembers(values: readonly unknown[]): DecodedMembers | undefined {
  if (values.length === 0) return undefined;
  if (values.length > 1) return { problem: `${MEMBERS_METADATA_KEY} must be sent once: it came ${values.length} times` };
  const value = values[0];
  if (typeof value !== 'string') return { problem: `${MEMBERS_METADATA_KEY} must be text: current value is binary` };
  if (value.length > MAX_MEMBERS_METADATA_LENGTH) {
    return { problem: `${MEMBERS_METADATA_KEY} must be at most ${MAX_MEMBERS_METADATA_LENGTH} characters: current length is ${value.length}` };
  }
  const parts = value.split(',');
  if (parts.length > MAX_MEMBERS) return { problem: `${MEMBERS_METADATA_KEY} must list at most ${MAX_MEMBERS} members: current count is ${parts.length}` };
  const servers: string[] = [];
  for (const part of parts) {
    try {
      const address = checkMemberAddress(part, MEMBERS_METADATA_KEY);
      if (!servers.includes(address)) servers.push(address);
    } catch (e) {
      return { problem: e instanceof Error ? e.message : String(e) };
    }
  }
  return { servers };
}
