import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket as WsWebSocket } from 'ws';
import {
  createServerConnector,
  CuttlefishClientConnector,
  CuttlefishConnectorError,
  CuttlefishDeviceConnector,
  endpointUrl,
  type JsonValue,
} from '../../sdk/cuttlefish/index.ts';
import { startNode, type TestNode } from '../support/switchboard-node.ts';
import { withTimeout as within } from '../support/waiting.ts';

const ICE_SERVERS = [{ urls: ['stun:stun.example.test:3478'] }];
const WAIT = 5000;

let counter = 0;
function freshId(label = 'sdk'): string {
  return `${label}-${process.pid}-${++counter}`;
}

/** SDK steps are local and quick: a shorter bound than the shared default. */
function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return within(promise, what, WAIT);
}

/** The next value a callback-style subscription delivers. */
function nextEvent<T extends unknown[]>(subscribe: (cb: (...args: T) => void) => () => void, what: string): Promise<T> {
  return withTimeout(
    new Promise<T>((resolve) => {
      const off = subscribe((...args) => {
        off();
        resolve(args);
      });
    }),
    what,
  );
}

/** Everything a subscription delivers, collected. */
function collect<T extends unknown[]>(subscribe: (cb: (...args: T) => void) => () => void): T[] {
  const seen: T[] = [];
  subscribe((...args) => seen.push(args));
  return seen;
}

describe('cuttlefish SDK connectors against a real node', () => {
  let node: TestNode;
  const open: Array<{ close(): Promise<unknown> }> = [];

  async function device(deviceId: string, deviceInfo: JsonValue = { hardware: { cpus: 2 } }): Promise<CuttlefishDeviceConnector> {
    const connector = new CuttlefishDeviceConnector();
    open.push(connector);
    await connector.connect(node.wsUrl);
    await connector.register(deviceId, deviceInfo);
    return connector;
  }

  function client(): CuttlefishClientConnector {
    const connector = new CuttlefishClientConnector();
    open.push(connector);
    return connector;
  }

  before(async () => {
    node = await startNode({ iceServers: ICE_SERVERS });
  });

  after(async () => {
    await Promise.all(open.map((connector) => withTimeout(connector.close(), 'connector close')));
    await node.close();
  });

  test('register resolves with the config; connect resolves with device_info and the same config', async () => {
    const id = freshId();
    const info = { hardware: { cpus: 4 }, displays: [{ width: 720 }], nested: { 'a"b': [1, null, true] } };
    const dev = new CuttlefishDeviceConnector();
    open.push(dev);
    await dev.connect(node.wsUrl);
    const config = await dev.register(id, info, { device_port: 8443 });
    assert.deepEqual(config, { message_type: 'config', ice_servers: ICE_SERVERS });
    assert.equal(dev.deviceId, id);

    const cli = client();
    const connection = await cli.connect(node.wsUrl, id);
    assert.deepEqual(connection, { deviceInfo: info, infraConfig: { message_type: 'config', ice_servers: ICE_SERVERS } });
    assert.deepEqual(cli.connection, connection);
  });

  test('payloads relay both ways as the same JSON values, in order', async () => {
    const id = freshId();
    const dev = await device(id);
    const fromClients = collect(dev.onClientMessage.bind(dev));
    const cli = client();
    await cli.connect(node.wsUrl, id);
    const fromDevice = collect(cli.onDeviceMessage.bind(cli));

    const payloads: JsonValue[] = [{ type: 'request-offer', ice_servers: [] }, 'text', 42, [1, { x: null }], false];
    for (const payload of payloads) cli.sendToDevice(payload);
    await withTimeout(waitUntil(() => fromClients.length === payloads.length), 'client → device');
    assert.deepEqual(fromClients, payloads.map((payload) => [1, payload]));

    for (const payload of payloads) dev.sendToClient(1, payload);
    await withTimeout(waitUntil(() => fromDevice.length === payloads.length), 'device → client');
    assert.deepEqual(fromDevice, payloads.map((payload) => [payload]));
  });

  test('client ids count from 1 per device; a closing client is reported to the device', async () => {
    const id = freshId();
    const dev = await device(id);
    const messages = collect(dev.onClientMessage.bind(dev));
    const first = client();
    const second = client();
    await first.connect(node.wsUrl, id);
    await second.connect(node.wsUrl, id);
    first.sendToDevice('one');
    await withTimeout(waitUntil(() => messages.length === 1), 'first message');
    second.sendToDevice('two');
    await withTimeout(waitUntil(() => messages.length === 2), 'second message');
    assert.deepEqual(messages, [[1, 'one'], [2, 'two']]);

    const gone = nextEvent(dev.onClientDisconnected.bind(dev), 'client_disconnected');
    await first.close();
    assert.deepEqual(await gone, [1]);
  });

  test('a payload sent the instant connect resolves reaches the device; one sent the instant a client message arrives reaches the client', async () => {
    const id = freshId();
    const dev = await device(id);
    // Reply from inside the callback, before anything else can happen.
    dev.onClientMessage((clientId, payload) => dev.sendToClient(clientId, { echo: payload }));
    const cli = client();
    await cli.connect(node.wsUrl, id);
    cli.sendToDevice('ping');
    // Subscribed only after sending: the held-back buffer keeps the early reply.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(await nextEvent(cli.onDeviceMessage.bind(cli), 'echo'), [{ echo: 'ping' }]);
  });

  test('device not found: connect rejects with the spec text and the socket closes', async () => {
    const id = freshId('missing');
    const cli = client();
    const errors = collect(cli.onError.bind(cli));
    const disconnected = nextEvent(cli.onDisconnect.bind(cli), 'disconnect');
    const expected = `Connection failed: Device not found: '${id}'`;
    await assert.rejects(cli.connect(node.wsUrl, id), (error: unknown) => {
      assert.ok(error instanceof CuttlefishConnectorError);
      assert.equal(error.message, expected);
      assert.equal(error.serverError, expected);
      return true;
    });
    const [info] = await disconnected;
    assert.equal(info.code, 1008);
    assert.equal(info.error, expected);
    assert.deepEqual(errors, [[expected]]);
    assert.throws(() => cli.sendToDevice('x'), /not connected/);
  });

  test('waitMs: the client waits for a device that registers later', async () => {
    const id = freshId('late');
    const cli = client();
    const connecting = cli.connect(node.wsUrl, id, { waitMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await device(id, { late: true });
    const { deviceInfo } = await withTimeout(connecting, 'connect after late registration');
    assert.deepEqual(deviceInfo, { late: true });
  });

  test('waitMs: running out of wait rejects with device not found', async () => {
    const id = freshId('never');
    const started = Date.now();
    await assert.rejects(client().connect(node.wsUrl, id, { waitMs: 300 }), { message: `Connection failed: Device not found: '${id}'` });
    assert.ok(Date.now() - started >= 250, 'rejected before the wait ran out');
  });

  test('device disconnect: the client gets onError("Device disconnected") and onDisconnect', async () => {
    const id = freshId();
    const dev = await device(id);
    const cli = client();
    await cli.connect(node.wsUrl, id);
    const error = nextEvent(cli.onError.bind(cli), 'error');
    const disconnected = nextEvent(cli.onDisconnect.bind(cli), 'disconnect');
    await dev.close();
    assert.deepEqual(await error, ['Device disconnected']);
    const [info] = await disconnected;
    assert.equal(info.error, 'Device disconnected');
    assert.equal(info.code, 1008);
  });

  test('duplicate device id: the second register rejects, the first device keeps the id', async () => {
    const id = freshId();
    const first = await device(id, { which: 'first' });
    const second = new CuttlefishDeviceConnector();
    open.push(second);
    await second.connect(node.wsUrl);
    const disconnected = nextEvent(second.onDisconnect.bind(second), 'disconnect');
    await assert.rejects(second.register(id, { which: 'second' }), { message: `Device id already taken: ${id}` });
    assert.equal((await disconnected)[0].error, `Device id already taken: ${id}`);
    assert.equal(second.deviceId, undefined);

    const cli = client();
    assert.deepEqual((await cli.connect(node.wsUrl, id)).deviceInfo, { which: 'first' });
    assert.equal(first.deviceId, id);
  });

  test('sendToClient to an unknown client: onError, and the registration survives', async () => {
    const id = freshId();
    const dev = await device(id);
    const error = nextEvent(dev.onError.bind(dev), 'error');
    dev.sendToClient(7, 'nobody');
    assert.deepEqual(await error, ['Forward failed: Unknown client 7']);
    const cli = client();
    await cli.connect(node.wsUrl, id);
    const received = nextEvent(dev.onClientMessage.bind(dev), 'client message');
    cli.sendToDevice('still here');
    assert.deepEqual(await received, [1, 'still here']);
  });

  test('local misuse throws instead of letting the server close the socket', async () => {
    const dev = new CuttlefishDeviceConnector();
    assert.throws(() => dev.sendToClient(1, 'x'), /not registered/);
    await assert.rejects(dev.register('x', {}), /socket is not open/);
    assert.equal(await dev.close(), undefined);
    const registered = await device(freshId());
    assert.throws(() => registered.sendToClient(1.5, 'x'), TypeError);
    assert.throws(() => registered.sendToClient(1, undefined as unknown as JsonValue), TypeError);
  });

  test('an unreachable server rejects connect', async () => {
    const dev = new CuttlefishDeviceConnector();
    await assert.rejects(withTimeout(dev.connect('ws://127.0.0.1:1'), 'connect to a closed port'), CuttlefishConnectorError);
    await dev.close();
  });

  test('an injected WebSocket constructor (the ws package) is used, and http URLs map to ws', async () => {
    const id = freshId();
    let constructed = 0;
    class CountingWebSocket extends WsWebSocket {
      constructor(url: string) {
        super(url);
        constructed++;
      }
    }
    const dev = new CuttlefishDeviceConnector({ WebSocket: CountingWebSocket });
    open.push(dev);
    await dev.connect(`${node.url}/register_device`);
    await dev.register(id, { injected: true });
    const cli = new CuttlefishClientConnector({ WebSocket: CountingWebSocket });
    open.push(cli);
    assert.deepEqual((await cli.connect(node.url, id)).deviceInfo, { injected: true });
    assert.equal(constructed, 2);
    const received = nextEvent(cli.onDeviceMessage.bind(cli), 'device message');
    dev.sendToClient(1, { over: 'ws' });
    assert.deepEqual(await received, [{ over: 'ws' }]);
  });

  test('createServerConnector offers the interface of the real server_connector.js', async () => {
    const id = freshId();
    const dev = await device(id, { hardware: {} });
    dev.onClientMessage((clientId, payload) => {
      if (typeof payload === 'object' && payload !== null && !Array.isArray(payload) && payload.type === 'request-offer') {
        dev.sendToClient(clientId, { type: 'offer', sdp: 'v=0' });
      }
    });
    const connector = createServerConnector(node.wsUrl);
    open.push(connector);
    const messages: JsonValue[] = [];
    connector.onDeviceMsg((message) => messages.push(message));
    const { deviceInfo, infraConfig } = await connector.requestDevice(id);
    assert.deepEqual(deviceInfo, { hardware: {} });
    connector.expectMessagesSoon(1000);
    connector.sendToDevice({ type: 'request-offer', ice_servers: infraConfig.ice_servers });
    await withTimeout(waitUntil(() => messages.length === 1), 'offer');
    assert.deepEqual(messages, [{ type: 'offer', sdp: 'v=0' }]);
  });

  test('endpointUrl accepts bases, prefixes and full endpoint URLs', () => {
    assert.equal(endpointUrl('ws://h:1', '/connect_client'), 'ws://h:1/connect_client');
    assert.equal(endpointUrl('https://h/sig/', '/register_device'), 'wss://h/sig/register_device');
    assert.equal(endpointUrl('ws://h:1/connect_client', '/connect_client'), 'ws://h:1/connect_client');
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
