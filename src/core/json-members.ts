/**
 * Finds the source text of a top-level member of a JSON object, so a relayed payload can be
 * passed on byte for byte: no second serialisation, and values JSON.stringify would alter
 * (integers beyond 2^53, 1.0, -0) arrive as sent. `text` must already have passed
 * JSON.parse; like JSON.parse, the last of duplicate keys wins.
 */
export function memberSource(text: string, key: string): string | undefined {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 123 /* { */) return undefined;
  i = skipSpace(text, i + 1);
  let found: string | undefined;
  while (i < text.length && text.charCodeAt(i) === 34 /* " */) {
    const keyEnd = stringEnd(text, i);
    const rawKey = text.slice(i + 1, keyEnd - 1);
    const matches = rawKey.includes('\\') ? JSON.parse(text.slice(i, keyEnd)) === key : rawKey === key;
    i = skipSpace(text, keyEnd);
    i = skipSpace(text, i + 1); // ':'
    const valueEnd = valueEndAt(text, i);
    if (matches) found = text.slice(i, valueEnd);
    i = skipSpace(text, valueEnd);
    if (text.charCodeAt(i) !== 44 /* , */) break;
    i = skipSpace(text, i + 1);
  }
  return found;
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else return i;
  }
}

/** Index just past the closing quote of the string starting at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const quote = text.indexOf('"', i);
    let backslashes = 0;
    for (let j = quote - 1; text.charCodeAt(j) === 92; j--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    i = quote + 1;
  }
}

function valueEndAt(text: string, start: number): number {
  const c = text.charCodeAt(start);
  if (c === 34) return stringEnd(text, start);
  if (c === 123 || c === 91) {
    let depth = 0;
    let i = start;
    for (;;) {
      const d = text.charCodeAt(i);
      if (d === 34) {
        i = stringEnd(text, i);
        continue;
      }
      if (d === 123 || d === 91) depth++;
      else if (d === 125 || d === 93) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
  }
  // number, true, false, null: runs to the next delimiter
  let i = start;
  for (;;) {
    const d = text.charCodeAt(i);
    if (d === 44 || d === 125 || d === 93 || d === 32 || d === 10 || d === 13 || d === 9 || Number.isNaN(d)) return i;
    i++;
  }
}

/** A string that shares no memory with the text it was cut from (for long-lived values). */
export function standalone(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
