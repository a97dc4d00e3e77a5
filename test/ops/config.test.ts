import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OPTIONS } from '../../src/ops/config-options.ts';
import { ConfigError, envName, flagName, loadConfig } from '../../src/ops/config.ts';
import { runSwitchboard } from '../support/switchboard-process.ts';

describe('configuration', () => {
  it('follows the naming rule for env and flags', () => {
    assert.equal(envName('mobz.keepaliveMs'), 'SWITCHBOARD_MOBZ_KEEPALIVE_MS');
    assert.equal(flagName('mobz.keepaliveMs'), '--mobz.keepalive-ms');
    assert.equal(envName('port'), 'SWITCHBOARD_PORT');
    assert.equal(envName('redisUrl'), 'SWITCHBOARD_REDIS_URL');
    assert.equal(envName('turn.ttlS'), 'SWITCHBOARD_TURN_TTL_S');
    assert.equal(flagName('cuttlefish.waitForDeviceMs'), '--cuttlefish.wait-for-device-ms');
  });

  it('has embedded defaults for everything', () => {
    const config = loadConfig();
    assert.equal(config.port, 8080);
    assert.equal(config.redisUrl, '');
    assert.equal(config['cuttlefish.maxMessageBytes'], 262144);
    assert.equal(config['cuttlefish.pingIntervalMs'], 15000);
    assert.equal(config['cuttlefish.pongTimeoutMs'], 30000);
    assert.equal(config['turn.ttlS'], 3600);
    for (const option of OPTIONS) assert.ok(option.key in config, option.key);
  });

  it('takes file < env < flags, in both nested and dotted file forms', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ port: 1000, cuttlefish: { waitForDeviceMs: 5 }, 'turn.ttlS': 60, logLevel: 'warn' }));
    const config = loadConfig({
      argv: ['--config', file, '--port=3000', '--cuttlefish.pong-timeout-ms', '900'],
      env: { SWITCHBOARD_PORT: '2000', SWITCHBOARD_TURN_TTL_S: '120', SWITCHBOARD_ALLOWED_ORIGINS: 'https://a.example, https://b.example' },
    });
    assert.equal(config.port, 3000);
    assert.equal(config['cuttlefish.waitForDeviceMs'], 5);
    assert.equal(config['turn.ttlS'], 120);
    assert.equal(config['cuttlefish.pongTimeoutMs'], 900);
    assert.equal(config.logLevel, 'warn');
    assert.deepEqual(config.allowedOrigins, ['https://a.example', 'https://b.example']);
  });

  it('reads lists as JSON arrays too, and ICE servers as JSON with string urls normalised to arrays', () => {
    const config = loadConfig({ env: { SWITCHBOARD_TURN_URLS: '["turn:a:3478"]', SWITCHBOARD_TURN_SECRET: 's', SWITCHBOARD_ICE_SERVERS: '[{"urls":"stun:x:3478"}]' } });
    assert.deepEqual(config['turn.urls'], ['turn:a:3478']);
    assert.deepEqual(config.iceServers, [{ urls: ['stun:x:3478'] }]);
  });

  for (const [label, sources, pattern] of [
    ['a non-integer port', { env: { SWITCHBOARD_PORT: 'eighty' } }, /invalid port \(from SWITCHBOARD_PORT\): expected an integer/],
    ['a negative limit', { argv: ['--cuttlefish.max-message-bytes', '-1'] }, /must be ≥ 1024/],
    ['an unknown flag', { argv: ['--colour', 'blue'] }, /unknown flag --colour/],
    ['a bad log level', { env: { SWITCHBOARD_LOG_LEVEL: 'loud' } }, /expected one of/],
    ['TURN urls without secret', { env: { SWITCHBOARD_TURN_URLS: 'turn:x' } }, /turn.urls needs turn.secret/],
    ['ICE servers that are not JSON', { env: { SWITCHBOARD_ICE_SERVERS: 'stun:x' } }, /not valid JSON/],
    ['a cert without key', { env: { SWITCHBOARD_TLS_CERT: '/x.pem' } }, /tls.cert and tls.key/],
  ] as const) {
    it(`rejects ${label} with a clear message`, () => {
      assert.throws(() => loadConfig(sources as never), (error: unknown) => error instanceof ConfigError && pattern.test(error.message));
    });
  }

  it('the CLI exits with 2 and says why on bad configuration', async () => {
    const { code, stderr } = await runSwitchboard(['--port', 'nope']);
    assert.equal(code, 2);
    assert.match(stderr, /configuration error: invalid port \(from --port\)/);
  });
});
