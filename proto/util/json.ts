// Comparing objects by content: the same data with keys in another order, or
// with undefined fields, must compare equal — otherwise a status that did not
// change is written to the store (and the SD card) again.

/** A copy with object keys sorted and undefined fields removed. */
export function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortedKeys(x);
    }
    return out;
  }
  return v;
}

/** JSON text that is equal for equal content, whatever the key order. */
export function stableJson(v: unknown): string {
  return JSON.stringify(sortedKeys(v ?? null));
}
