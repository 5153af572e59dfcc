/**
 * JSON nesting, bounded wherever JSON is accepted (SPEC §6). JSON.parse copes with any depth,
 * but JSON.stringify and every other recursive walk overflow the stack on a few thousand levels,
 * which a 10 KB body reaches: such a body is refused before anything reads it.
 */

/** Arrays and objects nested deeper than this are refused (the document itself is level 1). */
export const MAX_JSON_DEPTH = 64;

/** Whether JSON text nests arrays and objects deeper than `limit` (strings are skipped). */
export function jsonTooDeep(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: skip to its closing quote, past escaped characters
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

export const tooDeepMessage = `The JSON nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep.`;
