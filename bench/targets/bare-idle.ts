// Baseline for the idle-memory bench: a bare `ws` server holding "registered devices".
// It accepts the same first message as a cuttlefish device
// ({"message_type":"register","device_id":…,"device_info":…}), keeps the socket and the
// device_info in a Map under device_id, and answers {"message_type":"config",…} — the
// least state a signaling server can keep for an idle registered device. Liveness is the
// `ws` README pattern (one interval for all sockets, ping every 15 s, terminate a socket
// that did not pong since the previous round), as cheap per connection as it gets.
//
// usage: node --expose-gc --import ./bench/targets/gc-probe.ts bench/targets/bare-idle.ts <port>
// run.ts spawns it exactly like Switchboard (same flags, same preload, IPC channel), so
// both report memory the same way.

import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.argv[2] ?? 0);

interface Device {
  ws: WebSocket;
  info: unknown;
}
const alive = new WeakSet<WebSocket>();
const devices = new Map<string, Device>();

const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/readyz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/readyz' ? 'ok' : 'not found');
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
const CONFIG = JSON.stringify({ message_type: 'config', ice_servers: [] });

wss.on('connection', (ws) => {
  let id: string | null = null;
  alive.add(ws);
  ws.on('pong', () => alive.add(ws));
  ws.on('message', (data) => {
    let m: { message_type?: unknown; device_id?: unknown; device_info?: unknown };
    try {
      m = JSON.parse(String(data));
    } catch {
      return;
    }
    if (m.message_type === 'register' && typeof m.device_id === 'string' && id === null) {
      id = m.device_id;
      devices.set(id, { ws, info: m.device_info });
      ws.send(CONFIG);
    }
  });
  ws.on('close', () => {
    if (id !== null && devices.get(id)?.ws === ws) devices.delete(id);
  });
  ws.on('error', () => {});
});

setInterval(() => {
  for (const ws of wss.clients) {
    if (!alive.has(ws)) {
      ws.terminate();
      continue;
    }
    alive.delete(ws);
    ws.ping();
  }
}, 15_000).unref();

server.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'bare idle server listening', port }));
});
process.on('SIGTERM', () => process.exit(0));
