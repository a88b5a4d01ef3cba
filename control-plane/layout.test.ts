import assert from 'node:assert/strict';
import { test } from 'node:test';
import { repoRoot } from '../test/support/server-process.js';
import { layoutProblems, readSourceTree, type SourceFile } from './testing/import-layout.js';

test('the source tree keeps DESIGN.md layout: no upward folder import, no cycle, no test code in the product', () => {
  const files = readSourceTree(repoRoot());
  assert.ok(files.length > 100, `read ${files.length} files`);
  assert.deepEqual(layoutProblems(files), []);
});

const file = (path: string, ...imports: string[]): SourceFile => ({ path, text: imports.map((i) => `import { x } from '${i}';`).join('\n') });

test('an upward import, a cycle and an import of test code are each reported', () => {
  const problems = layoutProblems([
    file('control-plane/store/store.ts', '../api/api-node.js'),
    file('control-plane/api/api-node.ts', '../store/store.js'),
    file('control-plane/nodes/a.ts', './b.js'),
    file('control-plane/nodes/b.ts', './a.js'),
    file('control-plane/schema/schema.ts', '../testing/schema-fixtures.js'),
    file('proto/model.ts', '../control-plane/store/store.js'),
    file('agent/agent.ts', '../control-plane/pki/auth.js'),
    file('control-plane/cli/cli-agent.ts', '../../agent/agent.js'),
  ]);
  const has = (re: RegExp): void => assert.ok(problems.some((p) => re.test(p)), `${re} in ${JSON.stringify(problems, null, 1)}`);
  has(/^control-plane\/store\/store\.ts imports control-plane\/api\/api-node\.ts: an upward import: api is above store$/);
  has(/^an import cycle: control-plane\/store\/store\.ts -> control-plane\/api\/api-node\.ts -> control-plane\/store\/store\.ts$/);
  has(/^an import cycle: control-plane\/nodes\/a\.ts -> control-plane\/nodes\/b\.ts -> control-plane\/nodes\/a\.ts$/);
  has(/schema\.ts imports control-plane\/testing\/schema-fixtures\.ts: product code must not import tests/);
  has(/^proto\/model\.ts imports .*: proto\/ must depend on nothing outside proto\/$/);
  has(/^agent\/agent\.ts imports .*: the agent must depend only on agent\/ and proto\/$/);
  has(/cli-agent\.ts imports agent\/agent\.ts: the control plane may use only the agent's entry point/);
  assert.equal(problems.length, 7, JSON.stringify(problems, null, 1));
});
