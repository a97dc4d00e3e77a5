import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRedis, type RedisServer } from '../../support/redis-server.ts';
import { spawnSwitchboard } from '../../support/switchboard-process.ts';
import { startNode, type TestNode } from '../../support/switchboard-node.ts';
import { WsPeer } from '../../support/ws-peer.ts';
import { connectedClient, expectError, registeredDevice } from './helpers.ts';

const LEASE_MS = 1000;

describe('cuttlefish cluster: a node that dies without a goodbye', () => {
  let redis: RedisServer;
  let survivor: TestNode;
  before(async () => {
    redis = await startRedis();
    survivor = await startNode({ redisUrl: redis.url, nodeId: 'survivor', 'cuttlefish.deviceLeaseMs': LEASE_MS, nodeLeaseMs: LEASE_MS });
  });
  after(async () => {
    await survivor.close();
    await redis.stop();
  });

  it('frees its device ids within the lease and tells the clients on other nodes', async () => {
    const doomed = await spawnSwitchboard(['--redis-url', redis.url, '--node-id', 'doomed', '--cuttlefish.device-lease-ms', String(LEASE_MS), '--node-lease-ms', String(LEASE_MS)]);
    const device = await WsPeer.open(`${doomed.wsUrl}/register_device`);
    device.send({ message_type: 'register', device_id: 'orphan', device_info: { on: 'doomed' } });
    await device.next();
    const { client } = await connectedClient(survivor, 'orphan');
    const taken = await WsPeer.open(`${survivor.wsUrl}/register_device`);
    taken.send({ message_type: 'register', device_id: 'orphan', device_info: {} });
    await expectError(taken, 'DEVICE_ID_TAKEN', 'orphan');

    const killedAt = Date.now();
    doomed.child.kill('SIGKILL');
    await expectError(client, 'DEVICE_DISCONNECTED');
    const noticed = Date.now() - killedAt;
    assert.ok(noticed < LEASE_MS * 3, `clients told after ${noticed} ms`);
    const again = await registeredDevice(survivor, 'orphan', { on: 'survivor' });
    const { deviceInfo } = await connectedClient(survivor, 'orphan');
    assert.deepEqual(deviceInfo, { on: 'survivor' });
    again.close();
  });

  it('tells a device on a surviving node that the dead node\'s clients are gone', async () => {
    const doomed = await spawnSwitchboard(['--redis-url', redis.url, '--node-id', 'doomed-2', '--cuttlefish.device-lease-ms', String(LEASE_MS), '--node-lease-ms', String(LEASE_MS)]);
    const device = await registeredDevice(survivor, 'keeper');
    const client = await WsPeer.open(`${doomed.wsUrl}/connect_client`);
    client.send({ message_type: 'connect', device_id: 'keeper' });
    await client.next();
    await client.next();
    client.send({ message_type: 'forward', payload: 'from the doomed node' });
    assert.deepEqual(await device.next(), { message_type: 'client_msg', client_id: 1, payload: 'from the doomed node' });
    doomed.child.kill('SIGKILL');
    assert.deepEqual(await device.next(LEASE_MS * 4), { message_type: 'client_disconnected', client_id: 1 });
  });
});
