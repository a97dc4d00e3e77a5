import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { IceConfigProvider, mintTurnCredential } from '../../src/services/turn-credentials.ts';

describe('TURN REST credentials', () => {
  it('mint coturn use-auth-secret credentials: <expiry>:<id> and base64 HMAC-SHA1', () => {
    const { username, credential } = mintTurnCredential('s3cret', 'alice', 600, 1_700_000_000_000);
    assert.equal(username, '1700000600:alice');
    assert.equal(credential, createHmac('sha1', 's3cret').update('1700000600:alice').digest('base64'));
  });

  it('adds one TURN entry with fresh credentials to the static servers', () => {
    const provider = new IceConfigProvider([{ urls: ['stun:s:3478'] }], { urls: ['turn:t:3478', 'turns:t:5349'], secret: 'k', ttlS: 60 });
    const servers = provider.iceServers('id:with:colons');
    assert.equal(servers.length, 2);
    assert.deepEqual(servers[0], { urls: ['stun:s:3478'] });
    assert.deepEqual(servers[1]!.urls, ['turn:t:3478', 'turns:t:5349']);
    assert.match(servers[1]!.username!, /^\d+:id_with_colons$/);
  });

  it('gives only the static servers when no TURN is configured', () => {
    assert.deepEqual(new IceConfigProvider([], { urls: [], secret: '', ttlS: 60 }).iceServers('x'), []);
  });
});
