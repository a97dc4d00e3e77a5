import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { Topology } from '../../support/switchboard-node.ts';
import { WsPeer } from '../../support/ws-peer.ts';
import {
  assertPairStillRelays,
  connectedClient,
  delay,
  expectError,
  freshDeviceId,
  openClient,
  openDevice,
  postJson,
  registeredDevice,
  withTimeout,
} from './helpers.ts';

export const TURN_SECRET = 'protocol-suite-secret';
export const STATIC_DIR = mkdtempSync(join(tmpdir(), 'switchboard-static-'));
writeFileSync(join(STATIC_DIR, 'client.html'), '<!doctype html><title>cf client</title>');

/** Settings every run of the suite uses: short timers, small limits, TURN on. */
export const SUITE_OVERRIDES = {
  'cuttlefish.maxMessageBytes': 64 * 1024,
  'cuttlefish.pollQueueLimit': 5,
  'cuttlefish.pollIdleMs': 600,
  'cuttlefish.pingIntervalMs': 100,
  'cuttlefish.pongTimeoutMs': 400,
  'cuttlefish.staticDir': STATIC_DIR,
  'turn.urls': ['turn:127.0.0.1:3478?transport=udp'],
  'turn.secret': TURN_SECRET,
  'turn.ttlS': 600,
  maxConnectionsPerIp: 60,
} as const;

/**
 * Every rule of specs/cuttlefish.md as one suite, run unchanged on one node and on a
 * cluster (devices on one node, clients on the others), like livekit's shared scenarios.
 */
export function cuttlefishProtocolSuite(makeTopology: () => Promise<Topology>): void {
  let topology: Topology;
  before(async () => {
    topology = await makeTopology();
  });
  after(async () => {
    await topology.close();
  });
  const deviceNode = () => topology.deviceNode();
  const clientNode = (i?: number) => topology.clientNode(i);

  describe('every frame', () => {
    for (const side of ['device', 'client'] as const) {
      const open = () => (side === 'device' ? openDevice(deviceNode()) : openClient(clientNode()));
      it(`${side}: a binary frame gets "Received a binary message" and a close`, async () => {
        const peer = await open();
        peer.socket.send(Buffer.from('{"message_type":"register"}'), { binary: true });
        await expectError(peer, 'BINARY_MESSAGE');
      });
      it(`${side}: invalid JSON gets "Received Invalid JSON" and a close`, async () => {
        const peer = await open();
        peer.send('{"message_type": "register",');
        await expectError(peer, 'INVALID_JSON');
      });
      for (const raw of ['{"device_id":"x"}', '{"message_type":7}', '[1,2]', '"text"', 'null']) {
        it(`${side}: missing or non-string message_type (${raw}) gets "Invalid message format" with the raw text`, async () => {
          const peer = await open();
          peer.send(raw);
          await expectError(peer, 'INVALID_FORMAT', raw);
        });
      }
      it(`${side}: the format error is valid JSON even when the raw text has quotes`, async () => {
        const peer = await open();
        const raw = '{"note":"say \\"hi\\"","message_type":null}';
        peer.send(raw);
        const frame = JSON.parse(await peer.nextText());
        assert.equal(frame.error, `Invalid message format: '${raw}'`);
      });
      it(`${side}: an unknown message_type gets "Unknown message type" and the socket stays open`, async () => {
        const peer = await open();
        peer.send({ message_type: 'dance' });
        await expectError(peer, 'UNKNOWN_MESSAGE_TYPE', 'dance', false);
        peer.send({ message_type: 'dance2' });
        await expectError(peer, 'UNKNOWN_MESSAGE_TYPE', 'dance2', false);
        peer.close();
      });
      it(`${side}: invalid UTF-8 closes the socket with 1007`, async () => {
        const peer = await open();
        // ws refuses to send invalid UTF-8 as text, so write the frame by hand.
        const payload = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
        const mask = Buffer.from([1, 2, 3, 4]);
        const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
        (peer.socket as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
        const { code } = await withTimeout(peer.closed, 'no close', 3000);
        assert.equal(code, 1007);
      });
      it(`${side}: a message over cuttlefish.maxMessageBytes closes with 1009`, async () => {
        const peer = await open();
        peer.send(JSON.stringify({ message_type: 'register', device_id: 'x', device_info: 'a'.repeat(64 * 1024) }));
        const { code } = await withTimeout(peer.closed, 'no close', 3000);
        assert.equal(code, 1009);
      });
    }
  });

  describe('device side', () => {
    it('register is answered with config whose ice_servers carry urls arrays and minted TURN credentials', async () => {
      const device = await openDevice(deviceNode());
      device.send({ message_type: 'register', device_id: freshDeviceId(), device_info: {} });
      const config = await device.next();
      assert.equal(config.message_type, 'config');
      assert.ok(Array.isArray(config.ice_servers) && config.ice_servers.length >= 1);
      for (const server of config.ice_servers) {
        assert.ok(Array.isArray(server.urls), 'urls must be an array');
        for (const url of server.urls) assert.equal(typeof url, 'string');
      }
      const turn = config.ice_servers.find((s: { urls: string[] }) => s.urls[0]!.startsWith('turn:'));
      assert.ok(turn, 'a TURN entry');
      const [expiry] = turn.username.split(':');
      const ttl = Number(expiry) - Date.now() / 1000;
      assert.ok(ttl > 590 && ttl <= 601, `expiry ${ttl}s ahead`);
      assert.equal(turn.credential, createHmac('sha1', TURN_SECRET).update(turn.username).digest('base64'));
      device.close();
    });

    it('messages sent right behind register wait for it (in-order handling of one socket)', async () => {
      const id = freshDeviceId();
      const device = await openDevice(deviceNode());
      device.send({ message_type: 'register', device_id: id, device_info: {} });
      device.send({ message_type: 'forward', client_id: 9, payload: {} });
      assert.equal((await device.next()).message_type, 'config');
      await expectError(device, 'FORWARD_UNKNOWN_CLIENT', 9, false);
      device.close();
    });

    it('a second register on the same socket gets "Device already registered" and a close', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      device.send({ message_type: 'register', device_id: freshDeviceId() });
      await expectError(device, 'DEVICE_ALREADY_REGISTERED', id);
    });

    for (const [label, deviceId] of [
      ['missing', undefined],
      ['empty', ''],
      ['a number', 42],
    ] as const) {
      it(`a ${label} device_id gets "Missing device id in registration request" and a close`, async () => {
        const device = await openDevice(deviceNode());
        device.send({ message_type: 'register', device_id: deviceId, device_info: {} });
        await expectError(device, 'MISSING_DEVICE_ID');
      });
    }

    it('a taken device_id gets "Device id already taken" and a close; the first device keeps it', async () => {
      const id = freshDeviceId();
      const first = await registeredDevice(deviceNode(), id);
      const second = await openDevice(clientNode());
      second.send({ message_type: 'register', device_id: id, device_info: { second: true } });
      await expectError(second, 'DEVICE_ID_TAKEN', id);
      const { client, deviceInfo } = await connectedClient(clientNode(), id);
      assert.deepEqual(deviceInfo, { hardware: {} });
      await assertPairStillRelays(first, client, 1);
    });

    it('forward before register gets "Device not registered" and a close', async () => {
      const device = await openDevice(deviceNode());
      device.send({ message_type: 'forward', client_id: 1, payload: {} });
      await expectError(device, 'FORWARD_DEVICE_NOT_REGISTERED');
    });

    for (const [label, message] of [
      ['missing client_id', { message_type: 'forward', payload: {} }],
      ['string client_id', { message_type: 'forward', client_id: '1', payload: {} }],
      ['fractional client_id', { message_type: 'forward', client_id: 1.5, payload: {} }],
    ] as const) {
      it(`forward with a ${label} gets "Missing or invalid client id" and a close`, async () => {
        const device = await registeredDevice(deviceNode(), freshDeviceId());
        device.send(message);
        await expectError(device, 'FORWARD_INVALID_CLIENT_ID');
      });
    }

    it('forward without payload gets "Forward failed: Missing payload" and a close', async () => {
      const device = await registeredDevice(deviceNode(), freshDeviceId());
      device.send({ message_type: 'forward', client_id: 1 });
      await expectError(device, 'FORWARD_MISSING_PAYLOAD');
    });

    it('forward to a client id never issued gets "Unknown client <n>" and the socket stays open', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      device.send({ message_type: 'forward', client_id: 3, payload: {} });
      await expectError(device, 'FORWARD_UNKNOWN_CLIENT', 3, false);
      const { client } = await connectedClient(clientNode(), id);
      await assertPairStillRelays(device, client, 1);
    });

    it('register ignores extra fields (device_port, …) and stores device_info untouched', async () => {
      const id = freshDeviceId();
      const device = await openDevice(deviceNode());
      const infoSource = '{"displays":[{"w":720,"dpi":320.0}],"adb_port":6520,"big":123456789012345678901,"name":"Pixel \\u00e9 😀"}';
      device.send(`{"message_type":"register","device_id":"${id}","device_port":8443,"device_info":${infoSource},"extra":{"x":1}}`);
      assert.equal((await device.next()).message_type, 'config');
      const client = await openClient(clientNode());
      client.send({ message_type: 'connect', device_id: id });
      await client.next();
      assert.equal(await client.nextText(), `{"message_type":"device_info","device_info":${infoSource}}`);
      const listed = await (await fetch(`${clientNode().url}/devices/${id}`)).text();
      assert.equal(listed, `{"device_id":"${id}","device_info":${infoSource}}`);
    });
  });

  describe('client side', () => {
    it('connect gets config, then device_info as registered, as two frames', async () => {
      const id = freshDeviceId();
      await registeredDevice(deviceNode(), id, { hardware: { cpus: 4 }, custom_control_panel_buttons: [] });
      const client = await openClient(clientNode());
      client.send({ message_type: 'connect', device_id: id });
      const config = await client.next();
      assert.equal(config.message_type, 'config');
      assert.ok(config.ice_servers.every((s: { urls: unknown }) => Array.isArray(s.urls)));
      assert.deepEqual(await client.next(), { message_type: 'device_info', device_info: { hardware: { cpus: 4 }, custom_control_panel_buttons: [] } });
      await client.expectSilence(150);
    });

    it('an unknown device gets config, then "Device not found" and a close', async () => {
      const client = await openClient(clientNode());
      client.send({ message_type: 'connect', device_id: 'nobody-here' });
      assert.equal((await client.next()).message_type, 'config');
      await expectError(client, 'DEVICE_NOT_FOUND', 'nobody-here');
    });

    it(`the alternative flow: with switchboard_wait_ms the client gets config, waits, and gets device_info when the device registers`, async () => {
      const id = freshDeviceId();
      const client = await openClient(clientNode());
      client.send({ message_type: 'connect', device_id: id, switchboard_wait_ms: 5000 });
      assert.equal((await client.next()).message_type, 'config');
      await client.expectSilence(200);
      const device = await registeredDevice(deviceNode(), id, { late: true });
      assert.deepEqual(await client.next(), { message_type: 'device_info', device_info: { late: true } });
      await assertPairStillRelays(device, client, 1);
    });

    it('the alternative flow runs out: "Device not found" and a close after the wait', async () => {
      const id = freshDeviceId();
      const client = await openClient(clientNode());
      const started = Date.now();
      client.send({ message_type: 'connect', device_id: id, switchboard_wait_ms: 300 });
      assert.equal((await client.next()).message_type, 'config');
      await expectError(client, 'DEVICE_NOT_FOUND', id);
      assert.ok(Date.now() - started >= 280, 'waited');
    });

    it('a forward while waiting for the device gets "No device associated to client" and a close', async () => {
      const client = await openClient(clientNode());
      client.send({ message_type: 'connect', device_id: freshDeviceId(), switchboard_wait_ms: 5000 });
      await client.next();
      client.send({ message_type: 'forward', payload: {} });
      await expectError(client, 'FORWARD_NO_DEVICE');
    });

    it('a forward right behind connect is handled after the connect completes', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const client = await openClient(clientNode());
      client.send({ message_type: 'connect', device_id: id });
      client.send({ message_type: 'forward', payload: 'eager' });
      assert.equal((await client.next()).message_type, 'config');
      assert.equal((await client.next()).message_type, 'device_info');
      assert.deepEqual(await device.next(), { message_type: 'client_msg', client_id: 1, payload: 'eager' });
    });

    it('a second connect gets "Attempt to connect to multiple devices over same websocket" and a close', async () => {
      const id = freshDeviceId();
      await registeredDevice(deviceNode(), id);
      const { client } = await connectedClient(clientNode(), id);
      client.send({ message_type: 'connect', device_id: id });
      await expectError(client, 'MULTIPLE_DEVICES');
    });

    it('connect without device_id gets "Invalid connection request: Missing device id" and a close', async () => {
      const client = await openClient(clientNode());
      client.send({ message_type: 'connect' });
      await expectError(client, 'CONNECT_MISSING_DEVICE_ID');
    });

    it('forward before connect gets "No device associated to client" and a close', async () => {
      const client = await openClient(clientNode());
      client.send({ message_type: 'forward', payload: { a: 1 } });
      await expectError(client, 'FORWARD_NO_DEVICE');
    });

    it('forward without payload gets "No payload present in message" and a close', async () => {
      const id = freshDeviceId();
      await registeredDevice(deviceNode(), id);
      const { client } = await connectedClient(clientNode(), id);
      client.send({ message_type: 'forward' });
      await expectError(client, 'FORWARD_NO_PAYLOAD');
    });

    it('when the device disconnects, its clients at once get {"error":"Device disconnected"} and a close', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const { client: a } = await connectedClient(clientNode(0), id);
      const { client: b } = await connectedClient(clientNode(1), id);
      device.close();
      await expectError(a, 'DEVICE_DISCONNECTED');
      await expectError(b, 'DEVICE_DISCONNECTED');
    });

    it('when a client disconnects, its device gets client_disconnected', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const { client } = await connectedClient(clientNode(), id);
      client.close();
      assert.deepEqual(await device.next(), { message_type: 'client_disconnected', client_id: 1 });
      device.send({ message_type: 'forward', client_id: 1, payload: {} });
      assert.deepEqual(await device.next(), { message_type: 'client_disconnected', client_id: 1 });
    });

    it('client ids count from 1, per device, and are never reused while the device stays registered', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const seen: number[] = [];
      for (let i = 0; i < 4; i++) {
        const { client } = await connectedClient(clientNode(i), id);
        client.send({ message_type: 'forward', payload: { i } });
        const message = await device.next();
        assert.deepEqual(message.payload, { i });
        seen.push(message.client_id);
        client.close();
        assert.deepEqual(await device.next(), { message_type: 'client_disconnected', client_id: message.client_id });
      }
      assert.deepEqual(seen, [1, 2, 3, 4]);
    });
  });

  describe('relay', () => {
    it('payloads pass through as the same JSON text both ways (big integers, 1.0, unicode, nesting)', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const { client } = await connectedClient(clientNode(), id);
      const payloads = ['{"type":"offer","sdp":"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n"}', '123456789012345678901234567890', '1.0', '"é 😀 \\u2028"', '[{"a":[{"b":{}}]},null,true,-0]', 'null', '{ "spaced" : [ 1 , 2 ] }'];
      for (const payload of payloads) {
        client.send(`{"message_type":"forward","payload":${payload}}`);
        assert.equal(await device.nextText(), `{"message_type":"client_msg","client_id":1,"payload":${payload}}`);
        device.send(`{"payload":${payload},"client_id":1,"message_type":"forward"}`);
        assert.equal(await client.nextText(), `{"message_type":"device_msg","payload":${payload}}`);
      }
    });

    it('forwards read as JSON.parse reads them: duplicate keys (last wins), escaped keys, client_id 1.0, whitespace', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const { client } = await connectedClient(clientNode(), id);
      client.send('{"message_type":"forward","payload":"first","payload":"last"}');
      assert.equal(await device.nextText(), '{"message_type":"client_msg","client_id":1,"payload":"last"}');
      client.send('{"message_type":"forward","pay\\u006coad":{"k":1}}');
      assert.equal(await device.nextText(), '{"message_type":"client_msg","client_id":1,"payload":{"k":1}}');
      client.send(' \n{ "message_type" : "forward" ,\t"payload" : [ 1 ] }\r\n');
      assert.equal(await device.nextText(), '{"message_type":"client_msg","client_id":1,"payload":[ 1 ]}');
      device.send('{"message_type":"forward","client_id":1.0,"payload":2}');
      assert.equal(await client.nextText(), '{"message_type":"device_msg","payload":2}');
      device.send('{"message_type":"forward","client_id":1e0,"payload":3,"client_id":1}');
      assert.equal(await client.nextText(), '{"message_type":"device_msg","payload":3}');
      device.send('{"message_type":"forward","client_id":"1","payload":4}');
      assert.deepEqual(JSON.parse(await device.nextText()), { error: 'Forward failed: Missing or invalid client id' });
    });

    it('keeps per-sender order both ways: 300 messages, the first sent the instant device_info arrives', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const client = await openClient(clientNode());
      client.socket.on('message', (data) => {
        if (String(data).includes('"device_info"')) {
          for (let i = 0; i < 300; i++) client.send({ message_type: 'forward', payload: { seq: i } });
        }
      });
      client.send({ message_type: 'connect', device_id: id });
      for (let i = 0; i < 300; i++) assert.equal((await device.next()).payload.seq, i);
      await client.next();
      await client.next();
      for (let i = 0; i < 300; i++) device.send({ message_type: 'forward', client_id: 1, payload: { seq: i } });
      for (let i = 0; i < 300; i++) assert.equal((await client.next()).payload.seq, i);
    });

    it('clients receive nothing but config, device_info and device_msg', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const { client } = await connectedClient(clientNode(), id);
      const { client: other } = await connectedClient(clientNode(1), id);
      other.close();
      device.send({ message_type: 'forward', client_id: 1, payload: 'x' });
      assert.equal((await client.next()).message_type, 'device_msg');
      await client.expectSilence(300); // pings are WebSocket control frames, not messages
    });

    it('a device relays to several clients on different nodes, each by its own id', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const clients = [];
      for (let i = 0; i < 3; i++) clients.push((await connectedClient(clientNode(i), id)).client);
      for (let i = 0; i < 3; i++) device.send({ message_type: 'forward', client_id: i + 1, payload: { to: i + 1 } });
      for (let i = 0; i < 3; i++) assert.deepEqual((await clients[i]!.next()).payload, { to: i + 1 });
    });
  });

  describe('HTTP', () => {
    it('GET /devices lists registered ids; GET /devices/:id gives device_info; unknown → 404', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id, { n: 1 });
      const list = await (await fetch(`${clientNode().url}/devices`)).json();
      assert.ok(Array.isArray(list) && list.includes(id));
      assert.deepEqual(await (await fetch(`${clientNode().url}/devices/${id}`)).json(), { device_id: id, device_info: { n: 1 } });
      assert.equal((await fetch(`${clientNode().url}/devices/nope-${id}`)).status, 404);
      device.close();
      await delay(150);
      assert.ok(!(await (await fetch(`${clientNode().url}/devices`)).json()).includes(id), 'gone from the list');
    });

    it('GET /infra_config gives the config message', async () => {
      const config = await (await fetch(`${clientNode().url}/infra_config`)).json();
      assert.equal(config.message_type, 'config');
      assert.ok(config.ice_servers.every((s: { urls: unknown }) => Array.isArray(s.urls)));
    });

    it('polling endpoints are POST only (405 otherwise)', async () => {
      for (const path of ['/connect', '/forward', '/poll_messages']) {
        assert.equal((await fetch(`${clientNode().url}${path}`)).status, 405, path);
      }
    });

    it('a polling client connects, forwards and polls; it shares the device client id counter', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id, { p: 1 });
      const { client } = await connectedClient(clientNode(), id);
      const connect = await postJson(clientNode(), '/connect', { device_id: id });
      assert.equal(connect.status, 200);
      assert.match(connect.body.connection_id, /^[A-Za-z0-9]{64}$/);
      assert.equal(connect.body.message_type, 'device_info');
      assert.deepEqual(connect.body.device_info, { p: 1 });
      const connectionId = connect.body.connection_id;
      // Requests may land on any node: no sticky sessions.
      const forward = await postJson(clientNode(1), '/forward', { connection_id: connectionId, payload: { hello: 'poll' } });
      assert.equal(forward.status, 200);
      assert.deepEqual(forward.body, []);
      assert.deepEqual(await device.next(), { message_type: 'client_msg', client_id: 2, payload: { hello: 'poll' } });
      device.send({ message_type: 'forward', client_id: 2, payload: { n: 1 } });
      device.send({ message_type: 'forward', client_id: 2, payload: { n: 2 } });
      await delay(150);
      assert.deepEqual((await postJson(clientNode(), '/poll_messages', { connection_id: connectionId })).body, [{ n: 1 }, { n: 2 }]);
      assert.deepEqual((await postJson(clientNode(1), '/poll_messages', { connection_id: connectionId })).body, []);
      await assertPairStillRelays(device, client, 1);
    });

    it('polling errors: 400 bad request, 401 unknown connection, 404 unknown device', async () => {
      const node = clientNode();
      assert.deepEqual(await postJson(node, '/connect', '{not json'), { status: 400, body: { type: 'error', error: 'Invalid JSON in request body' } });
      assert.equal((await postJson(node, '/connect', {})).status, 400);
      assert.deepEqual(await postJson(node, '/connect', { device_id: 'missing-device' }), { status: 404, body: { type: 'error', error: 'Device not found' } });
      assert.equal((await postJson(node, '/poll_messages', {})).status, 400);
      assert.deepEqual(await postJson(node, '/poll_messages', { connection_id: 'x'.repeat(64) }), { status: 401, body: { type: 'error', error: 'Unknown connection id' } });
      assert.equal((await postJson(node, '/forward', { connection_id: 'x'.repeat(64), payload: 1 })).status, 401);
    });

    it('a polling queue holds at most cuttlefish.pollQueueLimit payloads; later ones are dropped', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const { body } = await postJson(clientNode(), '/connect', { device_id: id });
      await postJson(clientNode(), '/forward', { connection_id: body.connection_id, payload: 'hi' });
      await device.next();
      for (let i = 0; i < 8; i++) device.send({ message_type: 'forward', client_id: 1, payload: i });
      await delay(200);
      assert.deepEqual((await postJson(clientNode(), '/poll_messages', { connection_id: body.connection_id })).body, [0, 1, 2, 3, 4]);
    });

    it('a polling connection idle for cuttlefish.pollIdleMs is disconnected; its device is told', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const { body } = await postJson(clientNode(), '/connect', { device_id: id });
      await postJson(clientNode(), '/forward', { connection_id: body.connection_id, payload: 'hi' });
      assert.equal((await device.next()).client_id, 1);
      assert.deepEqual(await device.next(2000), { message_type: 'client_disconnected', client_id: 1 });
      assert.equal((await postJson(clientNode(), '/poll_messages', { connection_id: body.connection_id })).status, 401);
    });

    it('after the device leaves, a polling client gets 404', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const { body } = await postJson(clientNode(), '/connect', { device_id: id });
      device.close();
      await delay(150);
      const reply = await postJson(clientNode(), '/forward', { connection_id: body.connection_id, payload: 1 });
      assert.equal(reply.status, 404);
    });

    it('serves cuttlefish.staticDir for unmatched GETs (same-origin client page)', async () => {
      const response = await fetch(`${clientNode().url}/client.html`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type')!, /text\/html/);
      assert.equal(await response.text(), '<!doctype html><title>cf client</title>');
      assert.equal((await fetch(`${clientNode().url}/missing.js`)).status, 404);
      assert.equal((await fetch(`${clientNode().url}/..%2f..%2fetc%2fpasswd`)).status, 404);
    });

    it('accepts cross-origin WebSocket upgrades when no allow-list is set', async () => {
      const peer = await WsPeer.open(`${clientNode().wsUrl}/connect_client`, { origin: 'https://elsewhere.example' });
      peer.close();
    });
  });

  describe('liveness, limits and isolation', () => {
    it('a socket that stops answering pings is closed and its device id freed', async () => {
      const id = freshDeviceId();
      const device = await WsPeer.open(`${deviceNode().wsUrl}/register_device`, { autoPong: false } as never);
      device.send({ message_type: 'register', device_id: id, device_info: {} });
      await device.next();
      const { code } = await withTimeout(device.closed, 'not closed for missing pongs', 3000);
      assert.equal(code, 1006);
      const again = await registeredDevice(deviceNode(), id);
      again.close();
    });

    it('bad input on one session leaves the others working', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const { client } = await connectedClient(clientNode(), id);
      const abusers = await Promise.all(Array.from({ length: 10 }, () => openClient(clientNode())));
      const inputs = ['not json', '{"message_type":1}', '{"message_type":"forward"}', '\u0000', JSON.stringify({ message_type: 'connect', device_id: 'x'.repeat(60 * 1024) })];
      abusers.forEach((peer, i) => peer.send(inputs[i % inputs.length]!));
      abusers[0]!.socket.send(Buffer.alloc(10), { binary: true });
      await Promise.all(abusers.map((peer) => withTimeout(peer.closed, 'abuser not closed', 3000)));
      await assertPairStillRelays(device, client, 1);
    });

    it('a flood of connects past maxConnectionsPerIp is refused with 429 while existing sessions go on', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      const { client } = await connectedClient(clientNode(), id);
      const results = await Promise.allSettled(
        Array.from({ length: 80 }, () => WsPeer.open(`${clientNode().wsUrl}/connect_client`, { localAddress: '127.0.0.9' } as never)),
      );
      const opened = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<WsPeer>).value);
      const refused = results.filter((r) => r.status === 'rejected');
      assert.equal(opened.length, 60);
      assert.ok(refused.every((r) => /HTTP 429/.test(String((r as PromiseRejectedResult).reason))));
      await assertPairStillRelays(device, client, 1);
      for (const peer of opened) peer.terminate();
      const metrics = await (await fetch(`${clientNode().url}/metrics`)).text();
      assert.match(metrics, /switchboard_rejected_connections_total\{dialect="cuttlefish",reason="maxConnectionsPerIp"\} \d+/);
    });

    it('a client that connects and vanishes at once never breaks the device', async () => {
      const id = freshDeviceId();
      const device = await registeredDevice(deviceNode(), id);
      for (let i = 0; i < 10; i++) {
        const socket = new WebSocket(`${clientNode(i).wsUrl}/connect_client`);
        socket.on('open', () => {
          socket.send(JSON.stringify({ message_type: 'connect', device_id: id }));
          socket.terminate();
        });
        socket.on('error', () => {});
      }
      await delay(300);
      const { client } = await connectedClient(clientNode(), id);
      client.send({ message_type: 'forward', payload: 'after' });
      let message = await device.next();
      while (message.message_type === 'client_disconnected') message = await device.next();
      assert.equal(message.payload, 'after');
    });
  });
}
