import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { checkMemberAddress } from './api-members.js';
import { decodeMembers, encodeMembers, MAX_MEMBERS, MAX_MEMBERS_METADATA_LENGTH } from './members-metadata.js';

const problemOf = (values: unknown[]): string => {
  const d = decodeMembers(values);
  assert.ok(d && 'problem' in d, `refused: ${JSON.stringify(values).slice(0, 120)}`);
  return d.problem;
};

describe('members metadata', () => {
  test('a list round-trips, without empty entries or duplicates; no value is no news', () => {
    const text = encodeMembers(['10.0.0.1:7443', '', 'cp2.lan:7443', '[fd00::3]:7443', '10.0.0.1:7443']);
    assert.equal(text, '10.0.0.1:7443,cp2.lan:7443,[fd00::3]:7443');
    assert.deepEqual(decodeMembers([text]), { servers: ['10.0.0.1:7443', 'cp2.lan:7443', '[fd00::3]:7443'] });
    assert.deepEqual(decodeMembers(['10.0.0.1:7443,10.0.0.1:7443']), { servers: ['10.0.0.1:7443'] });
    assert.equal(decodeMembers([]), undefined);
  });

  test('a list with one bad entry is refused as a whole, naming the rule and the value', () => {
    assert.match(problemOf(['10.0.0.1:7443,10.0.0.2']), /bramble-members must be HOST:PORT with a port of 1-65535: current value is "10\.0\.0\.2"/);
    assert.match(problemOf(['10.0.0.1:0']), /port of 1-65535: current value is "10\.0\.0\.1:0"/);
    assert.match(problemOf(['10.0.0.1:70000']), /current value is "10\.0\.0\.1:70000"/);
    assert.match(problemOf(['']), /current value is ""/);
    assert.match(problemOf(['10.0.0.1:7443,']), /current value is ""/);
    assert.match(problemOf(['evil host:7443']), /current value is "evil host:7443"/);
    assert.match(problemOf(['a/b:7443']), /HOST:PORT/);
    assert.match(problemOf([Buffer.from('10.0.0.1:7443')]), /must be text: current value is binary/);
    assert.match(problemOf(['10.0.0.1:7443', '10.0.0.2:7443']), /must be sent once: it came 2 times/);
  });

  test('the count and the length are bounded', () => {
    const many = Array.from({ length: MAX_MEMBERS + 1 }, (_, i) => `10.0.0.${i + 1}:7443`).join(',');
    assert.match(problemOf([many]), new RegExp(`at most ${MAX_MEMBERS} members: current count is ${MAX_MEMBERS + 1}`));
    const most = Array.from({ length: MAX_MEMBERS }, (_, i) => `10.0.0.${i + 1}:7443`).join(',');
    assert.equal((decodeMembers([most]) as { servers: string[] }).servers.length, MAX_MEMBERS);
    const long = `${'a'.repeat(MAX_MEMBERS_METADATA_LENGTH)}:1`;
    assert.match(problemOf([long]), new RegExp(`at most ${MAX_MEMBERS_METADATA_LENGTH} characters: current length is ${long.length}`));
    // The longest a member's name may be still fits, MAX_MEMBERS times over.
    const longest = Array.from({ length: MAX_MEMBERS }, (_, i) => `${String(i).padStart(2, '0')}${'h'.repeat(251)}:65535`).join(',');
    assert.equal((decodeMembers([longest]) as { servers: string[] }).servers.length, MAX_MEMBERS);
  });

  test('fuzzed values never throw, and whatever is accepted is a short list of valid HOST:PORT addresses', () => {
    const alphabet = 'ab09.-:,[]% \t\n/@\u00e9\u0000';
    const pieces = ['10.0.0.1:7443', '[fd00::1]:7443', 'cp.lan:1', ':', ',', '::', '[', ']', '65536', '0', 'x'.repeat(300)];
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const bytes = randomBytes(1 + (i % 40));
      let text = '';
      for (const b of bytes) text += b % 3 === 0 ? pieces[b % pieces.length]! : alphabet[b % alphabet.length]!;
      const values: unknown[] = i % 97 === 0 ? [Buffer.from(text)] : i % 89 === 0 ? [text, text] : i % 83 === 0 ? [] : [text];
      let decoded: ReturnType<typeof decodeMembers>;
      assert.doesNotThrow(() => { decoded = decodeMembers(values); }, `value ${JSON.stringify(text)}`);
      if (decoded! && 'servers' in decoded!) {
        accepted++;
        assert.ok(decoded.servers.length >= 1 && decoded.servers.length <= MAX_MEMBERS);
        for (const s of decoded.servers) assert.equal(checkMemberAddress(s), s);
        assert.equal(new Set(decoded.servers).size, decoded.servers.length);
      }
    }
    assert.ok(accepted > 0, 'some fuzzed values are valid lists');
  });
});
