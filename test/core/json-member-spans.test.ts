import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonMemberSpans, MAX_DEPTH } from '../../src/core/json-member-spans.ts';
import { memberSource } from '../../src/core/json-members.ts';
import { randomValue, seeded } from '../support/random-json.ts';

const KEYS = ['message_type', 'client_id', 'payload'] as const;

/** What the scanner says about `text`, checked against JSON.parse whenever it accepts. */
function scanAndCheck(text: string): boolean {
  const spans = new JsonMemberSpans(KEYS);
  const bytes = Buffer.from(text, 'utf8');
  if (!spans.scan(bytes)) return false;
  let parsed: unknown;
  assert.doesNotThrow(() => (parsed = JSON.parse(text)), `accepted what JSON.parse refuses: ${JSON.stringify(text)}`);
  assert.ok(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed), `accepted a non-object: ${text}`);
  const object = parsed as Record<string, unknown>;
  KEYS.forEach((key, k) => {
    if (spans.start[k] === -1) {
      assert.equal(Object.hasOwn(object, key), false, `missed ${key} in ${text}`);
      return;
    }
    const source = bytes.subarray(spans.start[k], spans.end[k]).toString('utf8');
    assert.deepEqual(JSON.parse(source), object[key], `${key} in ${text}`);
    assert.equal(source, memberSource(text, key), 'the same bytes memberSource finds');
  });
  return true;
}

/** A random edit: delete, duplicate or replace one character with a JSON-significant one. */
function mutate(text: string, random: () => number): string {
  const at = Math.floor(random() * text.length);
  const alphabet = ['"', '\\', '{', '}', '[', ']', ',', ':', ' ', '0', '-', '.', 'e', 'u', 't', 'n', '\u0001', 'é', 'x'];
  const pick = alphabet[Math.floor(random() * alphabet.length)]!;
  switch (Math.floor(random() * 3)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1);
    case 1:
      return text.slice(0, at) + pick + text.slice(at);
    default:
      return text.slice(0, at) + pick + text.slice(at + 1);
  }
}

describe('JsonMemberSpans', () => {
  it('finds the wanted top-level members and skips the others', () => {
    const spans = new JsonMemberSpans(KEYS);
    const text = ' {"message_type" : "forward","x":{"payload":1},"client_id":12,"payload":{"a":[1,"}"]}}\n';
    const bytes = Buffer.from(text);
    assert.equal(spans.scan(bytes), true);
    assert.equal(spans.valueIs(bytes, 0, Buffer.from('"forward"')), true);
    assert.equal(spans.smallInteger(bytes, 1), 12);
    assert.equal(bytes.subarray(spans.start[2], spans.end[2]).toString(), '{"a":[1,"}"]}');
  });

  it('reads only plain integer literals of up to 15 digits as small integers', () => {
    const spans = new JsonMemberSpans(['n']);
    const value = (literal: string) => {
      const bytes = Buffer.from(`{"n":${literal}}`);
      assert.equal(spans.scan(bytes), true, literal);
      return spans.smallInteger(bytes, 0);
    };
    assert.equal(value('0'), 0);
    assert.equal(value('999999999999999'), 999999999999999);
    for (const literal of ['-1', '1.0', '1e2', '1234567890123456', '"1"', 'null']) assert.equal(value(literal), -1, literal);
  });

  it('refuses what JSON.parse refuses, and what it cannot vouch for', () => {
    const refused = [
      '',
      '[]',
      '"x"',
      '{',
      '{"a":1,}',
      '{"a":01}',
      '{"a":1.}',
      '{"a":.5}',
      '{"a":-}',
      '{"a":1e}',
      '{"a":tru}',
      '{"a":nul}',
      '{"a":"\\x"}',
      '{"a":"\\u12g4"}',
      '{"a":"\u0001"}',
      '{"a":1}{}',
      '{"a":1} x',
      "{'a':1}",
      '{"a" 1}',
      '{"payload":1,"payload":2}',
      '{"pay\\u006coad":1}',
      `{"a":${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}}`,
    ];
    for (const text of refused) assert.equal(scanAndCheck(text), false, JSON.stringify(text));
  });

  it('finds quotes, escapes and control characters at every position of long strings', () => {
    for (const insert of ['"', '\\', '\\"', '\\u00e9', '\\x', '\u0001', '\u001f', 'é', '😀', ' ']) {
      for (let at = 0; at < 48; at++) {
        const body = 'p'.repeat(at) + insert + 'q'.repeat(47 - at);
        const text = `{"payload":"${body}","after":"${'r'.repeat(at)}"}`;
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        assert.equal(scanAndCheck(text), valid, JSON.stringify(text));
      }
    }
  });

  it('accepts every random document without escaped keys, with the members JSON.parse sees', () => {
    const random = seeded(7);
    for (let i = 0; i < 3000; i++) {
      const text = `{"message_type":"forward", "client_id" : ${i},\t"payload":${randomValue(0, random).replaceAll('\\""', '"')}}`;
      assert.equal(scanAndCheck(text), true, text);
    }
  });

  it('never accepts a mutated document that JSON.parse refuses (20,000 edits)', () => {
    const random = seeded(11);
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      let text = `{"message_type":"forward","client_id":3,"payload":${randomValue(0, random).replaceAll('\\""', '"')}}`;
      for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) text = mutate(text, random);
      if (scanAndCheck(text)) accepted++;
    }
    assert.ok(accepted > 1000, `some edits keep the document valid (${accepted} accepted)`);
  });
});
