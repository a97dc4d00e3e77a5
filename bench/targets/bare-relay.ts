// Baseline target: the least a WebSocket relay can do with `ws` — JSON.parse, one Map
// lookup, JSON.stringify, send. No validation, no limits, no logging.
//
// Pairing scheme: connect to ws://host:port/?id=<id>; the server answers {"type":"open"}.
// Send {"to":"<id>","payload":X}; <id> receives {"from":"<sender id>","payload":X}.
//
// usage: node bench/targets/bare-relay.ts <port> [--batch] [--raw]
//   --batch  cork each destination socket on its first send in an event-loop turn and
//            uncork in setImmediate, so frames relayed to one socket in one turn leave
//            in one writev (an experiment on write batching; target name `bare-batch`).
//   --raw    no JSON at all: the "to" id is cut out of the frame's bytes and the rest is
//            forwarded behind a "from" prefix (target `bare-raw`): the floor under any
//            relay on `ws`, what the issue calls "a bare relay without JSON".

import http from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.argv[2] ?? 0);
const batch = process.argv.includes('--batch');
const raw = process.argv.includes('--raw');
/** `{"to":"` — the load generator's frames start with it. */
const TO_FIELD_END = 7;

const peers = new Map<string, WebSocket>();

const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/readyz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/readyz' ? 'ok' : 'not found');
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });

const corked = new Set<Socket>();
let uncorkScheduled = false;
function uncorkAll(): void {
  uncorkScheduled = false;
  for (const s of corked) s.uncork();
  corked.clear();
}
function send(dst: WebSocket, text: string | Buffer): void {
  if (batch) {
    const sock = (dst as unknown as { _socket: Socket })._socket;
    if (!corked.has(sock)) {
      sock.cork();
      corked.add(sock);
      if (!uncorkScheduled) {
        uncorkScheduled = true;
        setImmediate(uncorkAll);
      }
    }
  }
  dst.send(text, { binary: false });
}

wss.on('connection', (ws, req) => {
  const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
  peers.set(id, ws);
  const fromPrefix = Buffer.from(`{"from":${JSON.stringify(id)}`);
  ws.on('message', (data: Buffer) => {
    if (raw) {
      const end = data.indexOf(34 /* " */, TO_FIELD_END);
      if (end === -1) return;
      const dst = peers.get(data.toString('latin1', TO_FIELD_END, end));
      if (dst !== undefined) send(dst, Buffer.concat([fromPrefix, data.subarray(end + 1)]));
      return;
    }
    let m: { to: string; payload: unknown };
    try {
      m = JSON.parse(String(data));
    } catch {
      return;
    }
    const dst = peers.get(m.to);
    if (dst !== undefined) send(dst, JSON.stringify({ from: id, payload: m.payload }));
  });
  ws.on('close', () => {
    if (peers.get(id) === ws) peers.delete(id);
  });
  ws.on('error', () => {});
  ws.send('{"type":"open"}');
});

server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  console.log(JSON.stringify({ msg: 'bare relay listening', port: typeof addr === 'object' && addr ? addr.port : port, batch, raw }));
});
process.on('SIGTERM', () => process.exit(0));
