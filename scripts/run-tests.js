#!/usr/bin/env node
// Runs the whole suite from the compiled tree (dist/), in three stages so a
// broken unit fails fast and the slow end-to-end tests (real containerd,
// namespaces) run one file at a time:
//   unit (*.test.js, in parallel) → integration (*.int.test.js) → end-to-end (test/**).
// Usage: node scripts/run-tests.js [unit|int|e2e ...] — default: all stages.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = path.join(root, 'dist');

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const all = walk(dist).sort();
const rel = (f) => path.relative(dist, f);
const stages = {
  unit: all.filter((f) => !f.endsWith('.int.test.js') && !rel(f).startsWith('test/')),
  int: all.filter((f) => f.endsWith('.int.test.js') && !rel(f).startsWith('test/')),
  e2e: all.filter((f) => rel(f).startsWith('test/')),
};
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'int', 'e2e'];

let failed = false;
for (const stage of wanted) {
  const files = stages[stage];
  if (!files) {
    console.error(`unknown stage "${stage}": must be one of unit, int, e2e`);
    process.exit(2);
  }
  if (files.length === 0) continue;
  console.log(`\n=== ${stage}: ${files.length} files ===`);
  const concurrency = stage === 'unit' ? 2 : 1;
  const res = spawnSync(
    process.execPath,
    ['--enable-source-maps', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...files],
    { stdio: 'inherit', cwd: root, env: { ...process.env, BRAMBLE_LOG_LEVEL: process.env.BRAMBLE_LOG_LEVEL ?? 'warn' } },
  );
  if (res.status !== 0) failed = true;
  if (failed && stage === 'unit') break;
}
process.exit(failed ? 1 : 0);
