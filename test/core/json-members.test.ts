import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memberSource } from '../../src/core/json-members.ts';
import { randomValue, seeded } from '../support/random-json.ts';

describe('memberSource', () => {
  it('returns the exact source text of a top-level member', () => {
    assert.equal(memberSource('{"message_type":"forward","payload":{"a":[1,{"b":"}"}]}}', 'payload'), '{"a":[1,{"b":"}"}]}');
    assert.equal(memberSource('{ "payload" : 1.0 , "x":2}', 'payload'), '1.0');
    assert.equal(memberSource('{"payload":123456789012345678901234567890}', 'payload'), '123456789012345678901234567890');
    assert.equal(memberSource('{"payload":"a\\"b\\\\"}', 'payload'), '"a\\"b\\\\"');
    assert.equal(memberSource('{"nested":{"payload":1},"other":2}', 'payload'), undefined);
    assert.equal(memberSource('{"pay\\u006coad":7}', 'payload'), '7');
    assert.equal(memberSource('{"payload":1,"payload":2}', 'payload'), '2', 'the last duplicate wins, as in JSON.parse');
    assert.equal(memberSource('{}', 'payload'), undefined);
    assert.equal(memberSource('[1]', 'payload'), undefined);
  });

  it('agrees with JSON.parse on 5,000 random documents', () => {
    const random = seeded(42);
    for (let i = 0; i < 5000; i++) {
      const value = randomValue(0, random);
      const text = `{"message_type":"forward",\n "payload" :${value}, "tail":[${randomValue(1, random)}]}`;
      const source = memberSource(text, 'payload');
      assert.ok(source !== undefined, text);
      assert.deepEqual(JSON.parse(source), JSON.parse(text).payload, text);
      assert.equal(source, value, 'byte for byte');
    }
  });
});
