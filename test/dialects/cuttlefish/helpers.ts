import assert from 'node:assert/strict';
import { errorText, type CuttlefishErrorCode } from '../../../src/dialects/cuttlefish/errors.ts';
import type { TestNode } from '../../support/switchboard-node.ts';
import { withTimeout } from '../../support/waiting.ts';
import { WsPeer } from '../../support/ws-peer.ts';

export { delay, withTimeout } from '../../support/waiting.ts';

let counter = 0;
/** A device id no other test uses (scenarios share one topology). */
export function freshDeviceId(label = 'dev'): string {
  return `${label}-${process.pid}-${++counter}`;
}

export async function openDevice(node: TestNode): Promise<WsPeer> {
  return WsPeer.open(`${node.wsUrl}/register_device`);
}

export async function openClient(node: TestNode): Promise<WsPeer> {
  return WsPeer.open(`${node.wsUrl}/connect_client`);
}

/** A device registered under `deviceId`, its config already read. */
export async function registeredDevice(node: TestNode, deviceId: string, deviceInfo: unknown = { hardware: {} }): Promise<WsPeer> {
  const device = await openDevice(node);
  device.send({ message_type: 'register', device_id: deviceId, device_info: deviceInfo });
  const config = await device.next();
  assert.equal(config.message_type, 'config');
  return device;
}

/** A client connected to `deviceId`: config and device_info read. */
export async function connectedClient(node: TestNode, deviceId: string): Promise<{ client: WsPeer; deviceInfo: unknown }> {
  const client = await openClient(node);
  client.send({ message_type: 'connect', device_id: deviceId });
  assert.equal((await client.next()).message_type, 'config');
  const info = await client.next();
  assert.equal(info.message_type, 'device_info');
  return { client, deviceInfo: info.device_info };
}

/** Asserts the peer receives exactly this error frame and then (if `closes`) a close. */
export async function expectError(peer: WsPeer, code: CuttlefishErrorCode, detail?: string | number, closes = true): Promise<void> {
  const text = await peer.nextText();
  assert.deepEqual(JSON.parse(text), { error: errorText(code, detail) }, `expected ${code}`);
  if (closes) {
    const { code: closeCode } = await withTimeout(peer.closed, 'socket did not close after the error', 3000);
    assert.ok(closeCode === 1008 || closeCode === 1003, `close code ${closeCode}`);
  }
}

/** A device–client pair that relays one message both ways: proof a session still works. */
export async function assertPairStillRelays(device: WsPeer, client: WsPeer, clientId: number): Promise<void> {
  client.send({ message_type: 'forward', payload: { probe: 'c2d' } });
  assert.deepEqual(await device.next(), { message_type: 'client_msg', client_id: clientId, payload: { probe: 'c2d' } });
  device.send({ message_type: 'forward', client_id: clientId, payload: { probe: 'd2c' } });
  assert.deepEqual(await client.next(), { message_type: 'device_msg', payload: { probe: 'd2c' } });
}

export async function postJson(node: TestNode, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${node.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}
