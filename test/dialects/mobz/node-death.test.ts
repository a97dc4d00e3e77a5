import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRedis, type RedisServer } from '../../support/redis-server.ts';
import { spawnSwitchboard, type SwitchboardProcess } from '../../support/switchboard-process.ts';
import { startNode, type TestNode } from '../../support/switchboard-node.ts';
import { addMember, createRoom, expectErrorAck, expectForward, expectPlc, keepHeartbeating, offer, target, withTimeout } from './helpers.ts';

const WINDOW_MS = 1000;
const LEASE_MS = 1000;

function spawnDoomed(redisUrl: string, nodeId: string): Promise<SwitchboardProcess> {
  return spawnSwitchboard(['--redis-url', redisUrl, '--node-id', nodeId, '--mobz.heartbeat-timeout-ms', String(WINDOW_MS), '--node-lease-ms', String(LEASE_MS)]);
}

describe('mobz cluster: a node that dies without a goodbye (SIGKILL)', () => {
  let redis: RedisServer;
  let survivor: TestNode;
  before(async () => {
    redis = await startRedis();
    survivor = await startNode({ redisUrl: redis.url, nodeId: 'survivor', 'mobz.heartbeatTimeoutMs': WINDOW_MS, nodeLeaseMs: LEASE_MS });
  });
  after(async () => {
    await survivor.close();
    await redis.stop();
  });

  it('its members are removed after their heartbeat window and the remaining member gets a PLC', async () => {
    const doomed = await spawnDoomed(redis.url, 'doomed-1');
    const { room, admin: a } = await createRoom(survivor, 'm2m');
    const beatA = keepHeartbeating(a, 200);
    try {
      const b = await addMember(room, doomed);
      const beatB = keepHeartbeating(b, 200);
      const across = offer(a.who, undefined, target(b.ss));
      a.send(across);
      await expectForward(b.peer, across, 'an OFFER from the survivor to the doomed node');
      beatB.stop();
      const lastBeat = beatB.lastAt;
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      room.remove(b);
      await withTimeout(expectPlc(a.peer, room.rid, room.pps(), 'the survivor'), 'the PLC for the member on the dead node', WINDOW_MS + LEASE_MS + 10_000);
      const waited = Date.now() - lastBeat;
      assert.ok(waited >= WINDOW_MS * 0.75, `removed ${waited} ms after its last heartbeat (window ${WINDOW_MS})`);
      const toGone = offer(a.who, undefined, target(b.ss));
      a.send(toGone);
      await expectErrorAck(a.peer, 4003, 'OFFER', toGone);
    } finally {
      beatA.stop();
      doomed.child.kill('SIGKILL');
    }
  });

  it('an admin on the dead node is succeeded by the oldest surviving publisher', async () => {
    const doomed = await spawnDoomed(redis.url, 'doomed-2');
    const { room, admin } = await createRoom(doomed, 'm2m');
    const beatAdmin = keepHeartbeating(admin, 200);
    const b = await addMember(room, survivor);
    const beatB = keepHeartbeating(b, 200);
    const c = await addMember(room, survivor);
    const beatC = keepHeartbeating(c, 200);
    try {
      beatAdmin.stop();
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      room.remove(admin);
      assert.equal(b.role, 'admin');
      await withTimeout(expectPlc(b.peer, room.rid, room.pps(), 'b'), 'the PLC naming the new admin', WINDOW_MS + LEASE_MS + 10_000);
      await expectPlc(c.peer, room.rid, room.pps(), 'c');
    } finally {
      beatAdmin.stop();
      beatB.stop();
      beatC.stop();
      doomed.child.kill('SIGKILL');
    }
  });
});
