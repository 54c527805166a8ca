/** One open object or array while walking the text, with what a path to a duplicate needs. */
interface OpenContainer {
  /** Keys seen so far; undefined for an array. A list: most objects have a handful, and a Set each costs more. */
  keys: string[] | undefined;
  /** The same keys as a Set, once the object has many. */
  keySet?: Set<string>;
  /** In an object: whether the next string is a key. */
  expectKey: boolean;
  /** The last key (object) or the current index (array), for the path. */
  at: string | number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The path (`layers[1].annotations.org.x`) of the first key that occurs twice in one object, at any depth,
 * or undefined. The text must already be valid JSON (it is parsed first).
 */
// Hand-written because JSON.parse silently keeps the last of two equal keys and has no hook to see them.
export function findDuplicateKey(text: string): string | undefined {
  const stack: OpenContainer[] = [];
  const path = (last: string): string => {
    let out = '';
    for (const c of [...stack.slice(0, -1).map((open) => open.at), last]) {
      out += typeof c === 'number' ? `[${c}]` : out === '' ? c : `.${c}`;
    }
    return out;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      let escaped = false;
      for (let d = text.charCodeAt(end); d !== QUOTE; d = text.charCodeAt(end)) {
        if (d === BACKSLASH) {
          escaped = true;
          end += 2;
        } else end += 1;
      }
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        // Compared decoded: `"a"` and `"\u0061"` are the same key to every parser.
        const key = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        if (top.keySet ? top.keySet.has(key) : top.keys.includes(key)) return path(key);
        top.keys.push(key);
        if (top.keySet) top.keySet.add(key);
        else if (top.keys.length > 16) top.keySet = new Set(top.keys);
        top.at = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      stack.push({ keys: [], expectKey: true, at: '' });
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: undefined, expectKey: false, at: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
      else if (top) top.at = (top.at as number) + 1;
    }
  }
  return undefined;
}
