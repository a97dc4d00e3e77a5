import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memberSource } from '../../src/core/json-members.ts';

/** Random JSON values, written with random whitespace, to compare against JSON.parse. */
function randomValue(depth: number, random: () => number): string {
  const pick = Math.floor(random() * (depth > 3 ? 5 : 7));
  const space = () => [' ', '', '\n', '\t', '  '][Math.floor(random() * 5)]!;
  switch (pick) {
    case 0:
      return JSON.stringify(['a"b', 'x\\', 'é😀', '', '\\"', '}{][,:'][Math.floor(random() * 6)]);
    case 1:
      return ['0', '-1', '1.5e10', '123456789012345678901234', '-0', '1.0'][Math.floor(random() * 6)]!;
    case 2:
      return ['true', 'false', 'null'][Math.floor(random() * 3)]!;
    case 3:
    case 4:
      return '"' + 'q'.repeat(Math.floor(random() * 50)) + '\\\\"';
    case 5: {
      const items = Array.from({ length: Math.floor(random() * 4) }, () => space() + randomValue(depth + 1, random) + space());
      return `[${items.join(',')}]`;
    }
    default: {
      const members = Array.from({ length: Math.floor(random() * 4) }, (_, i) => `${space()}"k${i}\\""${space()}:${space()}${randomValue(depth + 1, random)}`);
      return `{${members.join(',')}}`;
    }
  }
}

function seeded(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

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
