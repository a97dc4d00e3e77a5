/**
 * Bytes that arrive in pieces (a frame over several reads, a message over several frames),
 * gathered into one buffer. Capacity doubles as bytes arrive rather than being reserved up
 * front: a peer that announces a 16 MiB frame and sends one byte costs kilobytes, not 16 MiB,
 * and a message of a million 1-byte fragments is one buffer, not a million.
 */
export class ByteAccumulator {
  #bytes: Buffer;
  #length = 0;

  constructor(firstCapacity: number) {
    this.#bytes = Buffer.allocUnsafe(firstCapacity);
  }

  get length(): number {
    return this.#length;
  }

  /** Appends `source[start, end)`; `ceiling` caps growth (the most this can ever need). */
  append(source: Uint8Array, start: number, end: number, ceiling: number): void {
    const needed = this.#length + (end - start);
    if (needed > this.#bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, Math.min(ceiling, this.#bytes.length * 2)));
      this.#bytes.copy(grown, 0, 0, this.#length);
      this.#bytes = grown;
    }
    this.#bytes.set(source.subarray(start, end), this.#length);
    this.#length = needed;
  }

  /** The bytes gathered, without copying; the accumulator must not be used afterwards. */
  take(): Buffer {
    return this.#bytes.subarray(0, this.#length);
  }
}
