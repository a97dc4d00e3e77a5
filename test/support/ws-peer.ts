import { WebSocket, type RawData } from 'ws';

/** A test party on one WebSocket: queued incoming frames, and the close it ended with. */
export class WsPeer {
  readonly socket: WebSocket;
  readonly #frames: Array<{ text: string; binary: boolean }> = [];
  #waiter: (() => void) | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data: RawData, binary: boolean) => {
      this.#frames.push({ text: data.toString(), binary });
      this.#waiter?.();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on('error', () => {});
  }

  static async open(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WsPeer> {
    const socket = new WebSocket(url, options);
    const peer = new WsPeer(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: HTTP ${response.statusCode}`)));
    });
    return peer;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next frame's text, in arrival order. */
  async nextText(timeoutMs = 3000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#frames.length === 0) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    return this.#frames.shift()!.text;
  }

  async next(timeoutMs?: number): Promise<any> {
    return JSON.parse(await this.nextText(timeoutMs));
  }

  /** Asserts that nothing arrives for `ms`. */
  async expectSilence(ms = 200): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (this.#frames.length > 0) throw new Error(`unexpected frame: ${this.#frames[0]!.text}`);
  }

  get pending(): number {
    return this.#frames.length;
  }

  close(): void {
    this.socket.close();
  }

  terminate(): void {
    this.socket.terminate();
  }
}
