/**
 * Checks that UTF-8 bytes hold one JSON object and finds where the values of some of its
 * top-level members lie, without building any value. The relay hot path uses it to check a
 * frame and forward the payload's bytes as received: no decoding to a string, no parse
 * tree, no second serialisation.
 *
 * It errs on one side only. Whatever it accepts, JSON.parse accepts with the same members;
 * it refuses some valid text (an escaped key, a wanted key given twice, nesting deeper than
 * MAX_DEPTH), and callers then take their JSON.parse path, which is also where every error
 * message comes from. The bytes must be valid UTF-8 (ws checks every text frame): bytes
 * of 0x80 and above are accepted inside strings without further checks.
 */
export class JsonMemberSpans {
  /** Where each wanted key's value starts, by the index of the key in the constructor; -1: absent. */
  readonly start: Int32Array;
  /** Just past the end of each wanted key's value. */
  readonly end: Int32Array;
  readonly #keys: Uint8Array[];

  constructor(keys: readonly string[]) {
    this.#keys = keys.map((key) => Buffer.from(key, 'utf8'));
    this.start = new Int32Array(keys.length);
    this.end = new Int32Array(keys.length);
  }

  /** True when `bytes` is a JSON object this scanner vouches for; the spans are then set. */
  scan(bytes: Uint8Array): boolean {
    this.start.fill(-1);
    this.end.fill(-1);
    const n = bytes.length;
    let i = skipSpace(bytes, 0, n);
    if (bytes[i] !== LBRACE) return false;
    i = skipSpace(bytes, i + 1, n);
    if (bytes[i] === RBRACE) return skipSpace(bytes, i + 1, n) === n;
    for (;;) {
      if (bytes[i] !== QUOTE) return false;
      const keyEnd = stringEnd(bytes, i, n);
      if (keyEnd < 0 || escapeSeen) return false;
      const wanted = this.#wanted(bytes, i + 1, keyEnd - 1);
      i = skipSpace(bytes, keyEnd, n);
      if (bytes[i] !== COLON) return false;
      i = skipSpace(bytes, i + 1, n);
      const valueEnd = valueEndAt(bytes, i, n, 1);
      if (valueEnd < 0) return false;
      if (wanted >= 0) {
        // JSON.parse keeps the last of duplicate keys; refusing is simpler than agreeing.
        if (this.start[wanted] !== -1) return false;
        this.start[wanted] = i;
        this.end[wanted] = valueEnd;
      }
      i = skipSpace(bytes, valueEnd, n);
      if (bytes[i] === COMMA) {
        i = skipSpace(bytes, i + 1, n);
        continue;
      }
      if (bytes[i] !== RBRACE) return false;
      return skipSpace(bytes, i + 1, n) === n;
    }
  }

  /** True when the value of wanted key `k` is exactly the given bytes. */
  valueIs(bytes: Uint8Array, k: number, expected: Uint8Array): boolean {
    const start = this.start[k]!;
    if (start < 0 || this.end[k]! - start !== expected.length) return false;
    for (let j = 0; j < expected.length; j++) if (bytes[start + j] !== expected[j]) return false;
    return true;
  }

  /**
   * The value of wanted key `k` when it is a plain non-negative integer literal of at most
   * 15 digits (exact in a double); otherwise -1.
   */
  smallInteger(bytes: Uint8Array, k: number): number {
    const start = this.start[k]!;
    const end = this.end[k]!;
    if (start < 0 || end - start > 15 || (bytes[start] === ZERO && end - start > 1)) return -1;
    let value = 0;
    for (let j = start; j < end; j++) {
      const digit = bytes[j]! - ZERO;
      if (digit < 0 || digit > 9) return -1;
      value = value * 10 + digit;
    }
    return value;
  }

  #wanted(bytes: Uint8Array, from: number, to: number): number {
    const length = to - from;
    outer: for (let k = 0; k < this.#keys.length; k++) {
      const key = this.#keys[k]!;
      if (key.length !== length) continue;
      for (let j = 0; j < length; j++) if (bytes[from + j] !== key[j]) continue outer;
      return k;
    }
    return -1;
  }
}

/** Deeper nesting is refused (the caller's JSON.parse path takes it): bounds the recursion. */
export const MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

/** Set by stringEnd: whether the string it just read had a backslash escape. */
let escapeSeen = false;

function skipSpace(bytes: Uint8Array, i: number, n: number): number {
  while (i < n) {
    const c = bytes[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
  return i;
}

/** Just past the closing quote of the string opening at `i`, or -1 when it is not valid JSON. */
function stringEnd(bytes: Uint8Array, i: number, n: number): number {
  escapeSeen = false;
  // Byte by byte at first (most strings are short), then four bytes at a time while none
  // of them is a quote, a backslash or a control character: payloads carry long strings
  // (SDP), and this is most of the relay's own work per message.
  let byByteUntil = i + 16;
  for (let j = i + 1; j < n; j++) {
    if (j >= byByteUntil) {
      j = plainWordsEnd(bytes, j, n);
      byByteUntil = j + 4;
      if (j >= n) return -1;
    }
    const c = bytes[j]!;
    if (c === QUOTE) return j + 1;
    if (c < 0x20) return -1;
    if (c !== BACKSLASH) continue;
    escapeSeen = true;
    if (++j >= n) return -1;
    const e = bytes[j]!;
    if (e === 0x75 /* u */) {
      if (j + 4 >= n) return -1;
      for (let h = 1; h <= 4; h++) if (!isHexDigit(bytes[j + h]!)) return -1;
      j += 4;
    } else if (!(e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74)) {
      return -1;
    }
  }
  return -1;
}

/**
 * From `j`, where the plain run ends: the first byte, or the start of the first aligned four
 * bytes, holding a quote, a backslash or a control character (or where fewer than four are
 * left). Words are read through an Int32Array view: a DataView costs more to make than a
 * 1 KiB string takes to scan, and signed words keep the arithmetic in 32-bit integers.
 */
function plainWordsEnd(bytes: Uint8Array, j: number, n: number): number {
  const base = bytes.byteOffset;
  for (; ((base + j) & 3) !== 0; j++) {
    if (j >= n) return j;
    const c = bytes[j]!;
    if (c < 0x20 || c === QUOTE || c === BACKSLASH) return j;
  }
  const count = (n - j) >>> 2;
  if (count === 0) return j;
  const words = new Int32Array(bytes.buffer, base + j, count);
  for (let k = 0; k < count; k++) {
    const w = words[k]!;
    const quote = w ^ 0x22222222;
    const backslash = w ^ 0x5c5c5c5c;
    // Per byte: below 0x20, or equal to '"' or '\'. Exact as a yes/no for the whole word.
    if (((((w - 0x20202020) & ~w) | ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash)) & 0x80808080) !== 0) return j + 4 * k;
  }
  return j + 4 * count;
}

function isHexDigit(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Just past the value starting at `i`, or -1 when there is no valid JSON value there. */
function valueEndAt(bytes: Uint8Array, i: number, n: number, depth: number): number {
  if (i >= n) return -1;
  const c = bytes[i]!;
  if (c === QUOTE) return stringEnd(bytes, i, n);
  if (c === LBRACE || c === LBRACKET) return depth >= MAX_DEPTH ? -1 : containerEnd(bytes, i, n, depth + 1);
  if (c === MINUS || (c >= ZERO && c <= NINE)) return numberEnd(bytes, i, n);
  if (c === 0x74) return literalEnd(bytes, i, n, TRUE);
  if (c === 0x66) return literalEnd(bytes, i, n, FALSE);
  if (c === 0x6e) return literalEnd(bytes, i, n, NULL);
  return -1;
}

function containerEnd(bytes: Uint8Array, i: number, n: number, depth: number): number {
  const isObject = bytes[i] === LBRACE;
  const close = isObject ? RBRACE : RBRACKET;
  i = skipSpace(bytes, i + 1, n);
  if (bytes[i] === close) return i + 1;
  for (;;) {
    if (isObject) {
      if (bytes[i] !== QUOTE) return -1;
      i = stringEnd(bytes, i, n);
      if (i < 0) return -1;
      i = skipSpace(bytes, i, n);
      if (bytes[i] !== COLON) return -1;
      i = skipSpace(bytes, i + 1, n);
    }
    i = valueEndAt(bytes, i, n, depth);
    if (i < 0) return -1;
    i = skipSpace(bytes, i, n);
    if (bytes[i] === COMMA) {
      i = skipSpace(bytes, i + 1, n);
      continue;
    }
    return bytes[i] === close ? i + 1 : -1;
  }
}

/** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? — what follows is the caller's to check. */
function numberEnd(bytes: Uint8Array, i: number, n: number): number {
  if (bytes[i] === MINUS) i++;
  if (i >= n) return -1;
  if (bytes[i] === ZERO) i++;
  else {
    const from = i;
    i = digitsEnd(bytes, i, n);
    if (i === from) return -1;
  }
  if (i < n && bytes[i] === DOT) {
    const from = ++i;
    i = digitsEnd(bytes, i, n);
    if (i === from) return -1;
  }
  if (i < n && (bytes[i] === 0x65 || bytes[i] === 0x45)) {
    i++;
    if (i < n && (bytes[i] === PLUS || bytes[i] === MINUS)) i++;
    const from = i;
    i = digitsEnd(bytes, i, n);
    if (i === from) return -1;
  }
  return i;
}

function digitsEnd(bytes: Uint8Array, i: number, n: number): number {
  while (i < n && bytes[i]! >= ZERO && bytes[i]! <= NINE) i++;
  return i;
}

function literalEnd(bytes: Uint8Array, i: number, n: number, literal: Uint8Array): number {
  if (i + literal.length > n) return -1;
  for (let j = 1; j < literal.length; j++) if (bytes[i + j] !== literal[j]) return -1;
  return i + literal.length;
}
