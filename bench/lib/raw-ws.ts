// A deliberately tiny WebSocket client for the load generator.
//
// Why not the `ws` client: the load generator shares a 2-core machine with the server
// under test, so it has to be much cheaper per message than any server, or it becomes
// the bottleneck and every target measures the same (the generator's) limit. This
// client:
//   - builds each frame in one Buffer (header + all-zero mask key + latin1 payload):
//     a zero masking key is legal (RFC 6455 only requires it to be unpredictable to
//     defend proxies, irrelevant on loopback) and makes masking a no-op;
//   - parses server frames in place (no per-frame string, no JSON.parse) and hands
//     (buffer, start, end) to the caller, who scans for the few bytes it needs;
//   - coalesces all frames queued for one socket during one turn of the event loop
//     into one write() (one syscall), unless batching is turned off.
// It speaks only what the benchmark needs: text frames, ping→pong, close; no
// extensions (it never offers permessage-deflate), no fragmentation.

import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_FRAME = 16 * 1024 * 1024;
/** Above this many bytes queued in the kernel-side/user-side write buffer a send is refused. */
export const MAX_WRITE_BACKLOG = 4 * 1024 * 1024;

export interface ConnectOptions {
  host: string;
  port: number;
  path: string;
  localAddress?: string;
  timeoutMs: number;
  /** Coalesce frames per socket per event-loop turn (default true). */
  batch?: boolean;
}

export type TextHandler = (buf: Buffer, start: number, end: number) => void;

const dirty: RawWs[] = [];
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  for (let i = 0; i < dirty.length; i++) dirty[i]!.flush();
  dirty.length = 0;
}

export class RawWs {
  readonly socket: net.Socket;
  readonly batch: boolean;
  private handler: TextHandler | null = null;
  /** Text frames that arrived before a handler was set (copied). */
  private inbox: Buffer[] = [];
  onClose: ((reason: string) => void) | null = null;
  closed = false;
  closeReason = '';
  private pending: Buffer | null = null;
  private out: Buffer[] = [];
  private queued = false;

  constructor(socket: net.Socket, batch: boolean) {
    this.socket = socket;
    this.batch = batch;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.markClosed(this.closeReason || 'socket closed'));
    socket.on('error', (err: Error) => {
      this.closeReason = `socket error: ${err.message}`;
    });
  }

  /** Set the text-frame handler; frames received before are replayed to it first. */
  setHandler(h: TextHandler): void {
    this.handler = h;
    const inbox = this.inbox;
    this.inbox = [];
    for (const b of inbox) h(b, 0, b.length);
  }

  /** Bytes accepted by write() but not yet handed to the kernel, plus our own queue. */
  backlog(): number {
    return this.socket.writableLength;
  }

  sendText(text: string): boolean {
    if (this.closed) return false;
    // Benchmark messages are ASCII; the byte length equals the string length.
    const len = text.length;
    const hdr = len < 126 ? 6 : len < 65536 ? 8 : 14;
    const frame = Buffer.allocUnsafe(hdr + len);
    frame[0] = 0x81; // FIN + text
    if (len < 126) {
      frame[1] = 0x80 | len;
    } else if (len < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(len, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeUInt32BE(0, 2);
      frame.writeUInt32BE(len, 6);
    }
    frame.writeUInt32BE(0, hdr - 4); // all-zero masking key
    frame.write(text, hdr, len, 'latin1');
    this.enqueue(frame);
    return true;
  }

  private sendControl(opcode: number, payload: Buffer): void {
    if (this.closed) return;
    const len = Math.min(payload.length, 125);
    const frame = Buffer.allocUnsafe(6 + len);
    frame[0] = 0x80 | opcode;
    frame[1] = 0x80 | len;
    frame.writeUInt32BE(0, 2);
    payload.copy(frame, 6, 0, len);
    this.enqueue(frame);
  }

  private enqueue(frame: Buffer): void {
    if (!this.batch) {
      this.socket.write(frame);
      return;
    }
    this.out.push(frame);
    if (!this.queued) {
      this.queued = true;
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        process.nextTick(flushAll);
      }
    }
  }

  flush(): void {
    this.queued = false;
    const out = this.out;
    if (out.length === 0) return;
    this.out = [];
    if (this.closed) return;
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  close(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.markClosed('closed by load generator');
  }

  private markClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.onClose?.(reason);
  }

  /** Feed bytes that arrived together with the HTTP 101 response. */
  feed(chunk: Buffer): void {
    if (chunk.length > 0) this.onData(chunk);
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const len = buf.length;
    let off = 0;
    while (len - off >= 2) {
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      let plen = b1 & 0x7f;
      let hdr = 2;
      if (plen === 126) {
        if (len - off < 4) break;
        plen = buf.readUInt16BE(off + 2);
        hdr = 4;
      } else if (plen === 127) {
        if (len - off < 10) break;
        plen = buf.readUInt32BE(off + 2) * 2 ** 32 + buf.readUInt32BE(off + 6);
        hdr = 10;
      }
      if (b1 & 0x80) return this.protocolError('server sent a masked frame');
      if (plen > MAX_FRAME) return this.protocolError(`frame too large (${plen})`);
      if (len - off < hdr + plen) break;
      const start = off + hdr;
      const end = start + plen;
      off = end;
      const opcode = b0 & 0x0f;
      if (opcode === 1) {
        if ((b0 & 0x80) === 0) return this.protocolError('fragmented text frame (unsupported)');
        if (this.handler !== null) this.handler(buf, start, end);
        else this.inbox.push(Buffer.from(buf.subarray(start, end)));
        if (this.closed) return;
      } else if (opcode === 9) {
        this.sendControl(10, buf.subarray(start, end));
      } else if (opcode === 10) {
        // pong: ignore
      } else if (opcode === 8) {
        const code = plen >= 2 ? buf.readUInt16BE(start) : 1005;
        const reason = plen > 2 ? buf.toString('utf8', start + 2, end) : '';
        this.closeReason = `close frame ${code}${reason ? ` ${reason}` : ''}`;
        this.socket.end();
        this.markClosed(this.closeReason);
        return;
      } else {
        return this.protocolError(`unexpected opcode ${opcode}`);
      }
    }
    if (off < len) this.pending = buf.subarray(off);
  }

  private protocolError(msg: string): void {
    this.closeReason = `protocol error: ${msg}`;
    this.socket.destroy();
    this.markClosed(this.closeReason);
  }
}

/** Open a TCP connection, perform the WebSocket upgrade, resolve with a RawWs. */
export function connectWs(opts: ConnectOptions): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const expectAccept = createHash('sha1').update(key + WS_GUID).digest('base64');
    const socket = net.connect({
      host: opts.host,
      port: opts.port,
      noDelay: true,
      ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
    });
    socket.setNoDelay(true);
    let head: Buffer = Buffer.alloc(0);
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`WebSocket handshake timed out after ${opts.timeoutMs} ms (${opts.path})`)), opts.timeoutMs);
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const onError = (err: Error): void => fail(err);
    const onClose = (): void => fail(new Error(`connection closed during handshake (${opts.path})`));
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const endIdx = head.indexOf('\r\n\r\n');
      if (endIdx < 0) {
        if (head.length > 16384) fail(new Error('handshake response too large'));
        return;
      }
      const text = head.toString('latin1', 0, endIdx);
      const lines = text.split('\r\n');
      const status = lines[0] ?? '';
      if (!/^HTTP\/1\.1 101 /.test(status)) {
        const body = head.toString('utf8', endIdx + 4, Math.min(head.length, endIdx + 4 + 300));
        return fail(new Error(`upgrade refused on ${opts.path}: ${status}${body ? ` — ${body}` : ''}`));
      }
      let accept = '';
      for (const line of lines) {
        const i = line.indexOf(':');
        if (i > 0 && line.slice(0, i).trim().toLowerCase() === 'sec-websocket-accept') accept = line.slice(i + 1).trim();
      }
      if (accept !== expectAccept) return fail(new Error('bad Sec-WebSocket-Accept'));
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      const ws = new RawWs(socket, opts.batch ?? true);
      resolve(ws);
      ws.feed(head.subarray(endIdx + 4));
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once('connect', () => {
      socket.write(
        `GET ${opts.path} HTTP/1.1\r\n` +
          `Host: ${opts.host}:${opts.port}\r\n` +
          'Upgrade: websocket\r\n' +
          'Connection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${key}\r\n` +
          'Sec-WebSocket-Version: 13\r\n\r\n',
      );
    });
  });
}
