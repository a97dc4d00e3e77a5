// Per-protocol wire details for the load generator: how to open one relay pair, what
// a relayed message looks like on the way in and on the way out, and how an idle
// connection is established. Everything else (pacing, counting, timing) is shared, so
// the three targets see exactly the same load.

import { connectWs, type RawWs } from './raw-ws.ts';

export type Protocol = 'cuttlefish' | 'peerjs' | 'bare';

export interface Endpoint {
  host: string;
  port: number;
}

/** Pair i has end A (cuttlefish device / peer A) and end B (cuttlefish client / peer B). */
export interface PairSockets {
  a: RawWs;
  b: RawWs;
  idA: string;
  idB: string;
}

export interface Adapter {
  readonly protocol: Protocol;
  openPair(ep: Endpoint, i: number, timeoutMs: number, batch: boolean): Promise<PairSockets>;
  /** Text that precedes the payload object in a message sent from A to B (resp. B to A). */
  prefixAB(p: PairSockets): string;
  prefixBA(p: PairSockets): string;
  /** Text that follows the payload object. */
  readonly suffix: string;
  /** Check one delivered frame (parsed JSON); return an error text or null. */
  checkDelivered(dir: 'ab' | 'ba', p: PairSockets, msg: unknown): string | null;
  /** Application keepalive the protocol's real clients send (sent on every relay socket). */
  readonly keepalive: { intervalMs: number; text: string } | null;
  /** Open one idle connection in the "real idle state" of this protocol. */
  openIdle(ep: Endpoint, id: string, localAddress: string | undefined, timeoutMs: number): Promise<RawWs>;
}

type Json = Record<string, unknown>;

/** Reads the next text frames of a socket during setup (parsed, in order). */
class SetupReader {
  private readonly ws: RawWs;
  private readonly queue: Json[] = [];
  private waiter: ((m: Json) => void) | null = null;
  private failer: ((e: Error) => void) | null = null;
  private error: Error | null = null;

  constructor(ws: RawWs) {
    this.ws = ws;
    ws.onClose = (reason) => this.fail(new Error(`connection closed during setup: ${reason}`));
    ws.setHandler((buf, start, end) => {
      const text = buf.toString('utf8', start, end);
      let m: unknown;
      try {
        m = JSON.parse(text);
      } catch {
        return this.fail(new Error(`non-JSON frame during setup: ${text.slice(0, 200)}`));
      }
      if (m === null || typeof m !== 'object' || Array.isArray(m)) {
        return this.fail(new Error(`unexpected frame during setup: ${text.slice(0, 200)}`));
      }
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        this.failer = null;
        w(m as Json);
      } else {
        this.queue.push(m as Json);
      }
    });
  }

  private fail(e: Error): void {
    if (this.error) return;
    this.error = e;
    if (this.failer) {
      const f = this.failer;
      this.waiter = null;
      this.failer = null;
      f(e);
    }
  }

  next(timeoutMs: number, what: string): Promise<Json> {
    const m = this.queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        this.failer = null;
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiter = (msg) => {
        clearTimeout(timer);
        resolve(msg);
      };
      this.failer = (e) => {
        clearTimeout(timer);
        reject(e);
      };
    });
  }

  /** Detach: later frames go to whatever handler the caller installs next. */
  done(): void {
    this.ws.onClose = null;
  }
}

async function expectFrame(r: SetupReader, timeoutMs: number, what: string, ok: (m: Json) => boolean): Promise<Json> {
  const m = await r.next(timeoutMs, what);
  if (!ok(m)) throw new Error(`expected ${what}, got ${JSON.stringify(m).slice(0, 300)}`);
  return m;
}

function payloadOk(p: unknown): string | null {
  if (p === null || typeof p !== 'object') return 'payload is not an object';
  const o = p as Json;
  if (typeof o['bts'] !== 'number' || typeof o['bseq'] !== 'number') return 'payload lost bts/bseq';
  if (typeof o['pad'] !== 'string' || (o['pad'] as string).length !== 1024) return 'payload pad altered';
  return null;
}

// ---------------------------------------------------------------- cuttlefish

async function cuttlefishDevice(ep: Endpoint, id: string, localAddress: string | undefined, timeoutMs: number, batch: boolean): Promise<RawWs> {
  const ws = await connectWs({ host: ep.host, port: ep.port, path: '/register_device', timeoutMs, batch, ...(localAddress ? { localAddress } : {}) });
  const r = new SetupReader(ws);
  ws.sendText(JSON.stringify({ message_type: 'register', device_id: id, device_info: { bench: true } }));
  await expectFrame(r, timeoutMs, `config for device ${id}`, (m) => m['message_type'] === 'config');
  r.done();
  return ws;
}

const cuttlefish: Adapter = {
  protocol: 'cuttlefish',
  async openPair(ep, i, timeoutMs, batch) {
    const idA = `bench-dev-${i}`;
    const a = await cuttlefishDevice(ep, idA, undefined, timeoutMs, batch);
    const b = await connectWs({ host: ep.host, port: ep.port, path: '/connect_client', timeoutMs, batch });
    const r = new SetupReader(b);
    b.sendText(JSON.stringify({ message_type: 'connect', device_id: idA }));
    await expectFrame(r, timeoutMs, 'config (first frame to client)', (m) => m['message_type'] === 'config');
    await expectFrame(r, timeoutMs, 'device_info (second frame to client)', (m) => m['message_type'] === 'device_info');
    r.done();
    return { a, b, idA, idB: `client-of-${idA}` };
  },
  // The device answers its only client, whose id is 1 (client ids start at 1 per device).
  prefixAB: () => '{"message_type":"forward","client_id":1,"payload":',
  prefixBA: () => '{"message_type":"forward","payload":',
  suffix: '}',
  keepalive: null, // liveness is WebSocket ping/pong, answered by RawWs
  checkDelivered(dir, _p, msg) {
    const m = msg as Json;
    if (dir === 'ab') {
      if (m['message_type'] !== 'device_msg') return `client expected device_msg, got ${JSON.stringify(m).slice(0, 200)}`;
    } else {
      if (m['message_type'] !== 'client_msg') return `device expected client_msg, got ${JSON.stringify(m).slice(0, 200)}`;
      if (m['client_id'] !== 1) return `device expected client_id 1, got ${String(m['client_id'])}`;
    }
    return payloadOk(m['payload']);
  },
  openIdle: (ep, id, localAddress, timeoutMs) => cuttlefishDevice(ep, id, localAddress, timeoutMs, true),
};

// ---------------------------------------------------------------- PeerJS

async function peerjsPeer(ep: Endpoint, id: string, localAddress: string | undefined, timeoutMs: number, batch: boolean): Promise<RawWs> {
  const path = `/peerjs?key=peerjs&id=${encodeURIComponent(id)}&token=tok${id.length}x`;
  const ws = await connectWs({ host: ep.host, port: ep.port, path, timeoutMs, batch, ...(localAddress ? { localAddress } : {}) });
  const r = new SetupReader(ws);
  await expectFrame(r, timeoutMs, `OPEN for peer ${id}`, (m) => m['type'] === 'OPEN');
  r.done();
  return ws;
}

const peerjs: Adapter = {
  protocol: 'peerjs',
  async openPair(ep, i, timeoutMs, batch) {
    const idA = `bench-a-${i}`;
    const idB = `bench-b-${i}`;
    const [a, b] = await Promise.all([peerjsPeer(ep, idA, undefined, timeoutMs, batch), peerjsPeer(ep, idB, undefined, timeoutMs, batch)]);
    return { a, b, idA, idB };
  },
  prefixAB: (p) => `{"type":"OFFER","src":"${p.idA}","dst":"${p.idB}","payload":`,
  prefixBA: (p) => `{"type":"OFFER","src":"${p.idB}","dst":"${p.idA}","payload":`,
  suffix: '}',
  // PeerJS clients send HEARTBEAT every 5 s; the server drops peers silent for 90 s.
  keepalive: { intervalMs: 5000, text: '{"type":"HEARTBEAT"}' },
  checkDelivered(dir, p, msg) {
    const m = msg as Json;
    const src = dir === 'ab' ? p.idA : p.idB;
    if (m['type'] !== 'OFFER' || m['src'] !== src) return `expected OFFER from ${src}, got ${JSON.stringify(m).slice(0, 200)}`;
    return payloadOk(m['payload']);
  },
  openIdle: (ep, id, localAddress, timeoutMs) => peerjsPeer(ep, id, localAddress, timeoutMs, true),
};

// ---------------------------------------------------------------- bare ws relay

async function barePeer(ep: Endpoint, id: string, timeoutMs: number, batch: boolean): Promise<RawWs> {
  const ws = await connectWs({ host: ep.host, port: ep.port, path: `/?id=${encodeURIComponent(id)}`, timeoutMs, batch });
  const r = new SetupReader(ws);
  await expectFrame(r, timeoutMs, `open for peer ${id}`, (m) => m['type'] === 'open');
  r.done();
  return ws;
}

const bare: Adapter = {
  protocol: 'bare',
  async openPair(ep, i, timeoutMs, batch) {
    const idA = `a${i}`;
    const idB = `b${i}`;
    const [a, b] = await Promise.all([barePeer(ep, idA, timeoutMs, batch), barePeer(ep, idB, timeoutMs, batch)]);
    return { a, b, idA, idB };
  },
  prefixAB: (p) => `{"to":"${p.idB}","payload":`,
  prefixBA: (p) => `{"to":"${p.idA}","payload":`,
  suffix: '}',
  keepalive: null,
  checkDelivered(dir, p, msg) {
    const m = msg as Json;
    const src = dir === 'ab' ? p.idA : p.idB;
    if (m['from'] !== src) return `expected a message from ${src}, got ${JSON.stringify(m).slice(0, 200)}`;
    return payloadOk(m['payload']);
  },
  // The bare idle server (targets/bare-idle.ts) accepts the same register → config
  // exchange as a cuttlefish device, so both idle targets see identical client bytes.
  openIdle: (ep, id, localAddress, timeoutMs) => cuttlefishDevice(ep, id, localAddress, timeoutMs, true),
};

export const adapters: Record<Protocol, Adapter> = { cuttlefish, peerjs, bare };
