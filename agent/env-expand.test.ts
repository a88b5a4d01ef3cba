import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { expandVars, lookupIn } from './env-expand.js';

const vars = lookupIn({ VAR_A: 'A', VAR_B: 'B', VAR_C: 'C', VAR_REF: '$(VAR_A)', VAR_EMPTY: '', '': 'EMPTY_NAME' });

// Cases after Kubernetes' own table (third_party/forked/golang/expansion/expand_test.go).
const cases: [string, string, string][] = [
  ['a whole reference', '$(VAR_A)', 'A'],
  ['text around a reference', 'x$(VAR_A)y', 'xAy'],
  ['two references back to back', '$(VAR_A)$(VAR_B)', 'AB'],
  ['three references with text', '___$(VAR_B)___$(VAR_A)___$(VAR_C)', '___B___A___C'],
  ['a defined empty value', 'x$(VAR_EMPTY)y', 'xy'],
  ['an undefined reference stays as written', '$(VAR_DNE)', '$(VAR_DNE)'],
  ['an undefined reference between defined ones', '$(VAR_A)$(VAR_DNE)$(VAR_B)', 'A$(VAR_DNE)B'],
  ['an escaped reference is the literal', '$$(VAR_A)', '$(VAR_A)'],
  ['an escaped reference among text', 'foo$$(VAR_A)bar', 'foo$(VAR_A)bar'],
  ['a doubled escape then a reference', '$$$(VAR_A)', '$A'],
  ['a double escape', '$$$$(VAR_A)', '$$(VAR_A)'],
  ['a lone $$ is one $', 'a$$b', 'a$b'],
  ['$$ at the end', 'ab$$', 'ab$'],
  ['a $ at the end stays', 'ab$', 'ab$'],
  ['a lone $ stays', '$', '$'],
  ['$ followed by something else stays', '$VAR_A and $x', '$VAR_A and $x'],
  ['an unterminated $( stays', '$(VAR_A', '$(VAR_A'],
  ['an unterminated $( after a good reference', '$(VAR_A)$(VAR_B', 'A$(VAR_B'],
  ['a $( at the very end', 'abc$(', 'abc$('],
  ['an empty name is looked up as the empty name', '$()', 'EMPTY_NAME'],
  ['nested references take the first closer', '$(VAR_$(VAR_A))', '$(VAR_$(VAR_A))'],
  ['the inner part of a nested-looking reference', '$(VAR_A$(VAR_B))', '$(VAR_A$(VAR_B))'],
  ['replaced text is not expanded again', '$(VAR_REF)', '$(VAR_A)'],
  ['a closer without an opener stays', 'VAR_A)', 'VAR_A)'],
  ['plain text is unchanged', 'no refs here', 'no refs here'],
  ['an empty string', '', ''],
  ['non-ASCII text around a reference', 'café $(VAR_A) ☕', 'café A ☕'],
  ['$ before a non-ASCII character stays', '$é', '$é'],
];

describe('expandVars', () => {
  for (const [what, input, want] of cases) {
    test(`${what}: ${JSON.stringify(input)} becomes ${JSON.stringify(want)}`, () => {
      assert.equal(expandVars(input, vars), want);
    });
  }

  test('lookupIn takes the first map that defines a name, even with an empty value', () => {
    const look = lookupIn({ A: '' }, { A: 'later', B: 'b' });
    assert.equal(look('A'), '');
    assert.equal(look('B'), 'b');
    assert.equal(look('C'), undefined);
  });
});
