/**
 * End to end against a real coturn: the TURN REST credentials Switchboard mints are ones
 * coturn accepts. Switchboard is given coturn's URL and `static-auth-secret`, and no other
 * ICE servers. WebRTC peers (node-datachannel) take their ICE servers from Switchboard the
 * way real ones do — the device from its `config` after registering, the client from its
 * `config` on connect, a web page from `GET /infra_config` — and run with
 * `iceTransportPolicy: 'relay'`: they offer only relay candidates, and coturn relays on an
 * address of its own that admits only the other relay, so they can only connect relay to
 * relay, through allocations coturn made for those credentials.
 *
 * Controls: the same peers with a credential minted under another secret, or one that has
 * expired, are refused by coturn (401 for that username in its log) and do not connect.
 *
 * The peers run in child processes (test/support/relay-only-peers.ts says why).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { IceServer } from '../../sdk/cuttlefish/index.ts';
import { mintTurnCredential } from '../../src/services/turn-credentials.ts';
import { startCoturn, type CoturnServer } from '../support/coturn-server.ts';
import type { PeerReport, PeersJob, PeersReport, PeersTask } from '../support/relay-only-peers.ts';
import { startNode, type TestNode } from '../support/switchboard-node.ts';
import { waitFor } from '../support/waiting.ts';

const SECRET = 'switchboard-turn-e2e-secret';
const TTL_S = 600;
const PEERS_SCRIPT = fileURLToPath(new URL('../support/relay-only-peers.ts', import.meta.url));
/** A relayed connection on loopback opens in well under a second; this is the margin for a loaded machine. */
const CONNECT_GIVE_UP_MS = 8_000;
/** Long enough for a relay candidate to show up had coturn accepted the credential (it takes milliseconds). */
const REFUSED_GIVE_UP_MS = 1_000;
/** Attempts at a connection, for the libdatachannel deadlock only (see connectPeers). */
const ATTEMPTS = 3;

let children = 0;

/** Runs one PeersJob in a child process and returns its report; the child is always gone afterwards. */
function runPeersOnce(task: PeersTask, giveUpMs: number): Promise<PeersReport> {
  // 127.0.1.x: loopback, and neither coturn's 127.0.0.1 nor its relays' 127.0.0.2.
  const job: PeersJob = { ...task, giveUpMs, bindAddress: `127.0.1.${++children}` };
  const env = { ...process.env };
  // The child is a plain script, not a test file of this run.
  delete env['NODE_TEST_CONTEXT'];
  const child = spawn(process.execPath, [PEERS_SCRIPT, JSON.stringify(job)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // A child stuck in the deadlock never ends by itself: never leave one behind.
  const killChild = (): void => void child.kill('SIGKILL');
  process.on('exit', killChild);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) =>
    child.once('close', () => {
      process.off('exit', killChild);
      resolve();
    }),
  );
  return new Promise<PeersReport>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`peers child gave no report in ${job.giveUpMs * 2 + 10_000} ms:\n${stderr}`)), job.giveUpMs * 2 + 10_000);
    let finished = false;
    const finish = (outcome: PeersReport | Error): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      // A child that connected exits by itself; one that did not may be stuck for good.
      const graceMs = outcome instanceof Error || !outcome.opened ? 0 : 5_000;
      const kill = setTimeout(killChild, graceMs);
      void exited.then(() => {
        clearTimeout(kill);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      });
    };
    child.stdout.on('data', () => {
      if (!stdout.includes('\n')) return;
      const line = stdout.slice(0, stdout.indexOf('\n'));
      try {
        finish(JSON.parse(line) as PeersReport);
      } catch {
        finish(new Error(`peers child printed something other than a report: ${line}\n${stderr}`));
      }
    });
    void exited.then(() => finish(new Error(`peers child exited (code ${child.exitCode}) without a report:\n${stderr}`)));
  });
}

/**
 * Runs `task(attempt)` until its peers connect. Only the signature of the libdatachannel
 * deadlock (relay-only-peers.ts) is tried again: both ICE agents connected, the data channel
 * never open. Anything else — no ICE connection at all, say — fails at once.
 */
async function connectPeers(t: TestContext, task: (attempt: number) => PeersTask): Promise<{ report: PeersReport; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    const report = await runPeersOnce(task(attempt), CONNECT_GIVE_UP_MS);
    if (report.opened) return { report, attempts: attempt };
    const stuckInDtls = report.peers.length === 2 && report.peers.every((peer) => peer.iceState === 'connected' || peer.iceState === 'completed');
    const states = report.peers.map((peer) => `${peer.name}: ice ${peer.iceState}, ${peer.state}`).join('; ');
    if (!stuckInDtls || attempt === ATTEMPTS) assert.fail(`the peers did not connect (attempt ${attempt}; ${states})`);
    t.diagnostic(`attempt ${attempt}: ICE connected but DTLS never finished (${states}) — the libdatachannel TURN deadlock; trying again`);
  }
}

/** The one TURN entry in `servers`, its username split into coturn's `<expiry>:<id>`. */
function turnEntry(servers: IceServer[], turn: CoturnServer): { expiryS: number; id: string } {
  assert.equal(servers.length, 1, `only the TURN entry (no static servers configured): ${JSON.stringify(servers)}`);
  const [entry] = servers;
  assert.deepEqual(entry!.urls, [turn.url]);
  assert.ok(entry!.credential, 'a credential');
  const match = /^(\d+):(.+)$/.exec(entry!.username ?? '');
  assert.ok(match, `username <expiry>:<id>, got ${entry!.username}`);
  return { expiryS: Number(match[1]), id: match[2]! };
}

/** The expiry Switchboard should have minted: now + ttl, give or take the test's own duration. */
function assertFreshExpiry(expiryS: number, mintedAfterMs: number): void {
  const latestS = Date.now() / 1000 + TTL_S;
  assert.ok(expiryS >= Math.floor(mintedAfterMs / 1000) + TTL_S && expiryS <= latestS, `expiry ${expiryS} is about now + ${TTL_S} s`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The requests (ALLOCATE, …) coturn processed for `username` with `outcome` ('success', 'error 401'), in order. */
function coturnRequests(turn: CoturnServer, username: string, outcome: string): string[] {
  // Its verbose log names the user on every request it processes.
  const line = new RegExp(`user <${escapeRegExp(username)}>: incoming packet (\\w+) processed, ${outcome}`);
  return turn
    .log()
    .split('\n')
    .flatMap((l) => line.exec(l)?.[1] ?? []);
}

/** The peers talked over relays coturn allocated, at both ends, and nothing else. */
function assertRelayed(peers: PeerReport[], turn: CoturnServer): void {
  const [a, b] = peers;
  assert.ok(a && b, 'two peers');
  assert.equal(a.received, `hello from ${b.name}`, `${a.name} got ${b.name}'s message`);
  assert.equal(b.received, `hello from ${a.name}`, `${b.name} got ${a.name}'s message`);
  for (const peer of peers) {
    assert.ok(peer.candidates.length > 0, `${peer.name} gathered candidates`);
    for (const candidate of peer.candidates) assert.match(candidate, / typ relay /, `${peer.name} gathered only relay candidates`);
    const pair = peer.selectedPair;
    assert.ok(pair, `${peer.name}: a selected candidate pair`);
    for (const [end, candidate] of [['local', pair.local], ['remote', pair.remote]] as const) {
      assert.equal(candidate.type, 'relay', `${peer.name}: ${end} candidate is a relay: ${candidate.candidate}`);
      assert.equal(candidate.address, turn.relayIp, `${peer.name}: ${end} candidate is on coturn's relay address: ${candidate.candidate}`);
    }
  }
}

describe('TURN relay through a real coturn, with credentials minted by Switchboard', () => {
  let turn: CoturnServer;
  let node: TestNode;

  before(async () => {
    turn = await startCoturn({ secret: SECRET });
    node = await startNode({ iceServers: [], 'turn.urls': [turn.url], 'turn.secret': SECRET, 'turn.ttlS': TTL_S });
  });

  after(async () => {
    await node?.close();
    await turn?.stop();
  });

  test('a Cuttlefish device and client, relay-only, connect through coturn with the ICE servers Switchboard gave them', async (t) => {
    const startedMs = Date.now();
    const deviceIds: string[] = [];
    const { report } = await connectPeers(t, (attempt) => {
      deviceIds.push(`cvd-turn-${process.pid}-${attempt}`);
      return { kind: 'cuttlefish', wsUrl: node.wsUrl, deviceId: deviceIds.at(-1)! };
    });
    const [device, client] = report.peers;
    assert.equal(device?.name, 'device');
    assert.equal(client?.name, 'client');

    const deviceTurn = turnEntry(device.iceServers, turn);
    assert.equal(deviceTurn.id, `cf-device-${deviceIds.at(-1)}`);
    assertFreshExpiry(deviceTurn.expiryS, startedMs);
    const clientTurn = turnEntry(client.iceServers, turn);
    assert.match(clientTurn.id, /^cf-client-/);
    assertFreshExpiry(clientTurn.expiryS, startedMs);

    assertRelayed(report.peers, turn);
    // Each side's allocation under its own minted username, and the permission that let the other's relay in.
    for (const peer of report.peers) {
      const requests = coturnRequests(turn, peer.iceServers[0]!.username!, 'success');
      assert.ok(requests.includes('ALLOCATE') && requests.includes('CREATE_PERMISSION'), `coturn allocated and permitted for the ${peer.name}: ${requests.join(', ')}`);
    }
  });

  test('the ICE servers from GET /infra_config connect two relay-only peers through coturn', async (t) => {
    const startedMs = Date.now();
    const response = await fetch(`${node.url}/infra_config`);
    assert.equal(response.status, 200);
    const config = (await response.json()) as { message_type: string; ice_servers: IceServer[] };
    assert.equal(config.message_type, 'config');
    const entry = turnEntry(config.ice_servers, turn);
    assert.match(entry.id, /^cf-http-/);
    assertFreshExpiry(entry.expiryS, startedMs);

    const { report, attempts } = await connectPeers(t, () => ({ kind: 'direct', iceServers: config.ice_servers }));
    assertRelayed(report.peers, turn);
    const allocations = coturnRequests(turn, config.ice_servers[0]!.username!, 'success').filter((request) => request === 'ALLOCATE');
    assert.equal(allocations.length, 2 * attempts, 'one allocation per peer and attempt, under the minted username');
  });

  /**
   * A credential coturn should refuse, used as the good ones are: both peers' allocations get
   * a 401 for that username, nothing of that user succeeds, and the peers, with nothing to
   * pair, do not connect.
   */
  async function assertRefused(credential: { username: string; credential: string }): Promise<void> {
    const [report] = await Promise.all([
      runPeersOnce({ kind: 'direct', iceServers: [{ urls: [turn.url], ...credential }] }, REFUSED_GIVE_UP_MS),
      waitFor(`coturn's 401 for ${credential.username}, once per peer`, () => coturnRequests(turn, credential.username, 'error 401').length >= 2, 10_000),
    ]);
    assert.equal(report.opened, false, 'the peers did not connect');
    for (const peer of report.peers) {
      assert.deepEqual(peer.candidates, [], `${peer.name} gathered no relay candidate`);
      assert.notEqual(peer.state, 'connected', `${peer.name} is not connected`);
    }
    assert.deepEqual(coturnRequests(turn, credential.username, 'success'), [], 'coturn processed no request of this user successfully');
  }

  test('coturn refuses a credential minted with another secret', async () => {
    await assertRefused(mintTurnCredential('not-the-coturn-secret', `wrong-secret-${process.pid}`, TTL_S));
  });

  test('coturn refuses an expired credential, though minted with its secret', async () => {
    // Minted an hour ago with the configured lifetime: it expired 50 minutes ago.
    await assertRefused(mintTurnCredential(SECRET, `expired-${process.pid}`, TTL_S, Date.now() - 3_600_000));
  });
});
