/**
 * Watches the frame headers (RFC 6455 §5.2) of a client's byte stream and reports the first
 * frame whose payload length exceeds `limit`. ws's `maxPayload` bounds whole messages only;
 * this bounds each frame, before its payload has even arrived.
 *
 * Payload bytes are skipped by count, never copied, and a header split across chunks is
 * resumed from five numbers: thousands of idle sockets each hold one of these.
 */
export class FrameSizeGuard {
  readonly limit: number;
  /** Header bytes read of the current frame; 0 between frames. */
  #at = 0;
  /** Header offset where the length field ends (2, 4 or 10). */
  #lengthEnd = 0;
  /** Header length including the mask key (2 to 14). */
  #headerEnd = 0;
  /** While in a header: the payload length read so far. After it: payload bytes yet to skip. */
  #remaining = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Returns the payload length of the first frame over the limit in `chunk`, or -1. */
  feed(chunk: Uint8Array): number {
    const end = chunk.length;
    let i = 0;
    while (i < end) {
      if (this.#at === 0 && this.#remaining > 0) {
        const skip = Math.min(this.#remaining, end - i);
        this.#remaining -= skip;
        i += skip;
        continue;
      }
      const byte = chunk[i++]!;
      const at = this.#at++;
      if (at === 1) {
        const length7 = byte & 0x7f;
        this.#lengthEnd = length7 === 126 ? 4 : length7 === 127 ? 10 : 2;
        this.#headerEnd = this.#lengthEnd + (byte & 0x80 ? 4 : 0);
        this.#remaining = length7 < 126 ? length7 : 0;
      } else if (at > 1 && at < this.#lengthEnd) {
        // Multiplying rather than shifting keeps 64-bit lengths exact up to 2^53; anything
        // larger is far over any limit, so the lost precision cannot change the verdict.
        this.#remaining = this.#remaining * 256 + byte;
      }
      if (at === this.#lengthEnd - 1 && this.#remaining > this.limit) {
        const length = this.#remaining;
        // Once the peer has broken the limit its stream is not worth parsing any further.
        this.#at = 0;
        this.#remaining = Infinity;
        return length;
      }
      if (this.#at === this.#headerEnd) this.#at = 0;
    }
    return -1;
  }
}
