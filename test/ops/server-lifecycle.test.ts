import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { delay, registeredDevice, connectedClient, expectError, withTimeout } from '../dialects/cuttlefish/helpers.ts';
import { startRedis } from '../support/redis-server.ts';
import { spawnSwitchboard } from '../support/switchboard-process.ts';
import { startNode } from '../support/switchboard-node.ts';
import { WsPeer } from '../support/ws-peer.ts';

/** A WebSocket handshake on a bare TCP socket that then never reads nor answers anything. */
async function unresponsiveWebSocket(port: number, path: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await new Promise((resolve) => socket.once('data', resolve));
  return socket;
}

function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([9, 8, 7, 6]);
  const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  return Buffer.concat([header, mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]);
}

describe('server lifecycle and transport', () => {
  it('answers /healthz, /readyz and /metrics', async () => {
    const node = await startNode();
    try {
      assert.equal((await fetch(`${node.url}/healthz`)).status, 200);
      assert.deepEqual(await (await fetch(`${node.url}/readyz`)).json(), { status: 'ready', nodeId: node.nodeId });
      const device = await registeredDevice(node, 'metrics-device');
      const metrics = await (await fetch(`${node.url}/metrics`)).text();
      for (const name of ['switchboard_connections{dialect="cuttlefish"} 1', 'switchboard_messages_in_total{dialect="cuttlefish"} 1', 'switchboard_messages_out_total{dialect="cuttlefish"} 1', '# TYPE switchboard_relay_latency_seconds histogram', 'process_cpu_seconds_total']) {
        assert.ok(metrics.includes(name), name);
      }
      device.send('garbage');
      await withTimeout(device.closed, 'not closed', 2000);
      assert.match(await (await fetch(`${node.url}/metrics`)).text(), /switchboard_errors_total\{dialect="cuttlefish",code="INVALID_JSON"\} 1/);
    } finally {
      await node.close();
    }
  });

  it('SIGTERM drains: readiness 503, new sockets refused, open ones closed with 1001, bounded wait, exit 0', async () => {
    const server = await spawnSwitchboard(['--drain-timeout-ms', '1500', '--log-level', 'info']);
    const device = await WsPeer.open(`${server.wsUrl}/register_device`);
    device.send({ message_type: 'register', device_id: 'drain-me', device_info: {} });
    await device.next();
    const stubborn = await unresponsiveWebSocket(server.port, '/connect_client');
    const started = Date.now();
    server.child.kill('SIGTERM');
    assert.equal((await withTimeout(device.closed, 'device not closed', 3000)).code, 1001);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 503);
    await assert.rejects(WsPeer.open(`${server.wsUrl}/register_device`), /HTTP 503/);
    const { code } = await withTimeout(server.exited, 'no exit', 6000);
    assert.equal(code, 0);
    const took = Date.now() - started;
    assert.ok(took >= 1400 && took < 5000, `drain took ${took} ms`);
    stubborn.destroy();
  });

  it('readiness is 503 while Redis is unreachable, and recovers', async () => {
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url });
    try {
      assert.equal((await fetch(`${node.url}/readyz`)).status, 200);
      await redis.stop();
      await delay(300);
      const down = await fetch(`${node.url}/readyz`);
      assert.equal(down.status, 503);
      assert.match(JSON.stringify(await down.json()), /unreachable/);
      const again = await startRedis({ port: redis.port });
      try {
        let status = 0;
        for (let i = 0; i < 100 && status !== 200; i++) {
          await delay(100);
          status = (await fetch(`${node.url}/readyz`)).status;
        }
        assert.equal(status, 200);
      } finally {
        await node.close();
        await again.stop();
      }
    } finally {
      await node.close();
      await redis.stop();
    }
  });

  it('enforces the origin allow-list', async () => {
    const node = await startNode({ allowedOrigins: ['https://ok.example'] });
    try {
      await assert.rejects(WsPeer.open(`${node.wsUrl}/connect_client`, { origin: 'https://evil.example' }), /HTTP 403/);
      await assert.rejects(WsPeer.open(`${node.wsUrl}/connect_client`), /HTTP 403/);
      (await WsPeer.open(`${node.wsUrl}/connect_client`, { origin: 'https://ok.example' })).close();
    } finally {
      await node.close();
    }
  });

  it('serves HTTPS and WSS with tls.cert and tls.key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-tls-'));
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    const node = await startNode({ 'tls.cert': cert, 'tls.key': key });
    try {
      assert.match(node.url, /^https:/);
      const device = await WsPeer.open(`${node.wsUrl}/register_device`, { rejectUnauthorized: false });
      device.send({ message_type: 'register', device_id: 'tls-device', device_info: {} });
      assert.equal((await device.next()).message_type, 'config');
      device.close();
    } finally {
      await node.close();
    }
  });

  it('cuts off a consumer that does not read, and its device learns it left', async () => {
    const node = await startNode({ maxBufferedBytes: 64 * 1024 });
    try {
      const device = await registeredDevice(node, 'flooder');
      const reader = await unresponsiveWebSocket(node.port, '/connect_client');
      reader.write(maskedTextFrame(JSON.stringify({ message_type: 'connect', device_id: 'flooder' })));
      reader.write(maskedTextFrame(JSON.stringify({ message_type: 'forward', payload: 'hi' })));
      assert.equal((await device.next()).client_id, 1);
      reader.pause();
      const chunk = 'x'.repeat(16 * 1024);
      let disconnected = false;
      device.socket.on('message', (data) => {
        if (String(data).includes('client_disconnected')) disconnected = true;
      });
      for (let i = 0; i < 2000 && !disconnected; i++) {
        device.send({ message_type: 'forward', client_id: 1, payload: chunk });
        if (i % 50 === 0) await delay(5);
      }
      for (let i = 0; i < 100 && !disconnected; i++) await delay(20);
      assert.ok(disconnected, 'device told the slow client left');
      assert.match(await (await fetch(`${node.url}/metrics`)).text(), /switchboard_slow_consumer_closes_total\{dialect="cuttlefish"\} [1-9]/);
      reader.destroy();
    } finally {
      await node.close();
    }
  });

  it('cuttlefish.waitForDeviceMs makes every client wait for its device (the alternative flow)', async () => {
    const node = await startNode({ 'cuttlefish.waitForDeviceMs': 2000 });
    try {
      const client = await WsPeer.open(`${node.wsUrl}/connect_client`);
      client.send({ message_type: 'connect', device_id: 'late-device' });
      assert.equal((await client.next()).message_type, 'config');
      await delay(200);
      await registeredDevice(node, 'late-device', { late: 1 });
      assert.deepEqual(await client.next(), { message_type: 'device_info', device_info: { late: 1 } });
      const { client: other } = await connectedClient(node, 'late-device');
      other.close();
      const lonely = await WsPeer.open(`${node.wsUrl}/connect_client`);
      lonely.send({ message_type: 'connect', device_id: 'never', switchboard_wait_ms: 100 });
      await lonely.next();
      await expectError(lonely, 'DEVICE_NOT_FOUND', 'never');
    } finally {
      await node.close();
    }
  });

  it('a plain HTTP request to a WebSocket path or an unknown upgrade path gets a clean refusal', async () => {
    const node = await startNode();
    try {
      assert.equal((await fetch(`${node.url}/register_device`)).status, 404);
      const socket = new WebSocket(`${node.wsUrl}/nowhere`);
      const status = await new Promise((resolve) => {
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode));
        socket.on('error', () => resolve(0));
      });
      assert.equal(status, 404);
    } finally {
      await node.close();
    }
  });
});
