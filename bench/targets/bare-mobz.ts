// Baseline target of the mobz bench: the least a `ws` server can do to answer the
// bench's mobz traffic — JSON.parse, a Map lookup, JSON.stringify, send. No validation,
// no heartbeat windows, no resume buffers, no State; just enough that the load
// generator sees the same acks and forwards as from Switchboard (same shapes, same pps).
//
// usage: node bench/targets/bare-mobz.ts <port>

import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

interface Member {
  ws: WebSocket;
  userId: string;
  sessionId: string;
  pp: Record<string, unknown>;
}
interface Signal {
  s: string;
  rid: string;
  ss: { userId: string; sessionId: string; host?: string; category?: string; deviceId?: string };
  bid?: string;
  send_ack?: boolean;
  to?: { userId: string; sessionId?: string };
}

const port = Number(process.argv[2] ?? 0);
const rooms = new Map<string, Member[]>();
const pps = (room: Member[]): string => JSON.stringify(room.map((m) => m.pp));

function onSignal(ws: WebSocket, d: Signal): void {
  const room = rooms.get(d.rid);
  if (d.s === 'JOIN') {
    const list = room ?? [];
    if (!room) rooms.set(d.rid, list);
    const role = list.length === 0 ? 'admin' : 'publisher';
    const { userId, sessionId } = d.ss;
    const pp = { id: sessionId, userId, sessionId, role, video: true, audio: true, publish: true, host: d.ss.host ?? '', category: d.ss.category ?? '', deviceId: d.ss.deviceId ?? '' };
    list.push({ ws, userId, sessionId, pp });
    ws.send(`{"c":200,"s":"JOIN","b":{"pps":${pps(list)},"rid":${JSON.stringify(d.rid)},"pt":"${role}","eg":"native","es":{"icfg":{"is":[],"servers":[]}}}}`);
    if (list.length > 1) {
      const changed = `{"c":200,"s":"PUBLISH_LIST_CHANGED","b":{"pps":${pps(list)},"rid":${JSON.stringify(d.rid)}}}`;
      for (const m of list) m.ws.send(changed);
    }
    return;
  }
  if (!room) return;
  if (d.s === 'HEARTBEAT') {
    if (d.send_ack) ws.send(`{"c":200,"s":"HEARTBEAT","b":{"pps":${pps(room)},"rid":${JSON.stringify(d.rid)},"bid":${JSON.stringify(d.bid)}}}`);
    return;
  }
  const to = room.find((m) => m.userId === d.to?.userId && m.sessionId === d.to?.sessionId);
  to?.ws.send(JSON.stringify(d));
}

const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/readyz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/readyz' ? 'ok' : 'not found');
});
const wss = new WebSocketServer({ server, path: '/mobz', perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    let m: { data?: Signal };
    try {
      m = JSON.parse(String(data));
    } catch {
      return;
    }
    if (m.data) onSignal(ws, m.data);
  });
  ws.on('error', () => {});
});

server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  console.log(JSON.stringify({ msg: 'bare mobz listening', port: typeof addr === 'object' && addr ? addr.port : port }));
});
process.on('SIGTERM', () => process.exit(0));
