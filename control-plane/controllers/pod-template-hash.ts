// The hash that names a Deployment's ReplicaSet and labels a DaemonSet's Pods
// (Kubernetes' ComputeHash): FNV-1a over the template's content, so the same
// template always gives the same ReplicaSet, whatever the key order, and a
// collision count (status.collisionCount) can move a clash to a new name.
import { stableJson } from '../../proto/util/json.js';
import type { PodTemplateSpec } from '../../proto/model.js';

// The apiserver's name alphabet (no vowels, no look-alikes), so a hash never spells a word.
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** 32-bit FNV-1a over the UTF-8 bytes of `text`. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Encodes a number in ALPHABET, least significant digit first, as short and safe as a label value must be. */
function encode(n: number): string {
  let out = '';
  let v = n;
  do {
    out += ALPHABET[v % ALPHABET.length];
    v = Math.floor(v / ALPHABET.length);
  } while (v > 0);
  return out;
}

/**
 * The template's hash. Labels the template may already carry from an earlier
 * hash (a ReplicaSet's own template) are left out, so hashing a Deployment's
 * template and its ReplicaSet's gives the same answer.
 */
export function podTemplateHash(template: PodTemplateSpec, collisionCount = 0, ignoreLabel?: string): string {
  let t: PodTemplateSpec = template;
  if (ignoreLabel && t.metadata?.labels && ignoreLabel in t.metadata.labels) {
    const { [ignoreLabel]: _dropped, ...labels } = t.metadata.labels;
    t = { ...t, metadata: { ...t.metadata, labels } };
  }
  const text = stableJson(t) + (collisionCount > 0 ? `#${collisionCount}` : '');
  return encode(fnv1a32(text));
}
