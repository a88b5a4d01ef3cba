// The fleet playbooks pass Debian's ansible-lint and yamllint, and every playbook
// in ansible/ passes ansible-playbook --syntax-check. The linters are also shown
// a broken copy, so a linter that accepted anything would fail this file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './support/server-process.js';

const ansibleDir = path.join(repoRoot(), 'ansible');

interface Run {
  code: number;
  output: string;
}

function run(file: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    // NO_COLOR: the output is for a failure message, not a terminal.
    execFile(file, args, { cwd, timeout: 240_000, maxBuffer: 16 << 20, env: { ...process.env, NO_COLOR: '1', ANSIBLE_NOCOLOR: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** The playbooks: every top-level .yml of ansible/ but the inventories. */
async function playbooks(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.yml') && !f.startsWith('inventory')).sort();
}

async function brokenCopy(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bramble-ansible-lint-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(ansibleDir, dir, { recursive: true });
  return dir;
}

test('the playbooks include site, upgrade and reset', async () => {
  const found = await playbooks(ansibleDir);
  for (const name of ['site.yml', 'upgrade.yml', 'reset.yml']) assert.ok(found.includes(name), `ansible/${name} must exist: found ${found.join(', ')}`);
});

test('ansible-lint finds nothing in ansible/', async () => {
  // From the repository root: inside ansible/, ansible-lint takes the directory for one role and lints 2 files.
  const r = await run('ansible-lint', ['ansible/'], repoRoot());
  assert.match(r.output, /on (\d{2,}) files/, `ansible-lint must have linted the whole directory:\n${r.output}`);
  assert.equal(r.code, 0, `ansible-lint must pass:\n${r.output}`);
});

test('yamllint finds nothing in ansible/', async () => {
  const r = await run('yamllint', ['--strict', '.'], ansibleDir);
  assert.equal(r.code, 0, `yamllint must pass:\n${r.output}`);
});

test('every playbook passes ansible-playbook --syntax-check', async () => {
  for (const book of await playbooks(ansibleDir)) {
    const r = await run('ansible-playbook', ['-i', 'inventory.example.yml', '--syntax-check', book], ansibleDir);
    assert.equal(r.code, 0, `ansible-playbook --syntax-check ${book} must pass:\n${r.output}`);
  }
});

test('yamllint fails on a playbook with a line too long and a wrong indentation', async (t) => {
  const dir = await brokenCopy(t);
  await writeFile(path.join(dir, 'broken.yml'), `---\n- name: Broken\n  hosts: all\n  tasks:\n     - name: ${'x'.repeat(200)}\n       ansible.builtin.debug:\n`);
  const r = await run('yamllint', ['--strict', '.'], dir);
  assert.notEqual(r.code, 0, `yamllint must fail on broken.yml:\n${r.output}`);
  assert.match(r.output, /broken\.yml/);
});

test('the syntax check fails on a playbook that names a role that does not exist', async (t) => {
  const dir = await brokenCopy(t);
  await writeFile(path.join(dir, 'broken.yml'), '---\n- name: Broken\n  hosts: all\n  roles:\n    - role: no_such_role\n');
  const r = await run('ansible-playbook', ['-i', 'inventory.example.yml', '--syntax-check', 'broken.yml'], dir);
  assert.notEqual(r.code, 0, `ansible-playbook --syntax-check broken.yml must fail:\n${r.output}`);
  assert.match(r.output, /no_such_role/);
});
