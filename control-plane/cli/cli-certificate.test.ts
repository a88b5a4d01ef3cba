import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ensureClusterPki, rotateClusterCa } from '../pki/pki-ca.js';
import { writeClientConfig } from '../pki/client-config.js';
import { collectCertificates, printCertificates } from './cli-certificate.js';

const DAY = 24 * 3600 * 1000;

async function serverDataDir(): Promise<{ dir: string; issuedAt: number }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-cert-status-'));
  const pki = await ensureClusterPki(dir);
  const admin = await pki.issueClientCert('admin', 'bramble:admins');
  await writeClientConfig(path.join(dir, 'admin.conf'), { server: 'localhost:1', ca: pki.caPem, cert: admin.certPem, key: admin.keyPem });
  return { dir, issuedAt: Date.now() };
}

describe('certificate status', () => {
  test('lists the CA, serving and admin certificates of a server data dir with the days left', async () => {
    const { dir, issuedAt } = await serverDataDir();
    try {
      const certs = await collectCertificates(dir, issuedAt);
      assert.deepEqual(certs.map((c) => c.role), ['ca', 'serving', 'admin']);
      const byRole = Object.fromEntries(certs.map((c) => [c.role, c]));
      assert.match(byRole.serving!.subject, /CN=bramble-server/);
      assert.match(byRole.admin!.subject, /CN=admin/);
      assert.ok(byRole.ca!.remainingDays >= 3649 && byRole.ca!.remainingDays <= 3650);
      assert.ok(byRole.serving!.remainingDays >= 364 && byRole.serving!.remainingDays <= 365);
      assert.ok(certs.every((c) => c.state === 'valid'));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('during a CA rotation lists the previous CA too, never as renew-soon', async () => {
    const { dir, issuedAt } = await serverDataDir();
    try {
      await rotateClusterCa(dir, { overlapMs: 30 * DAY });
      const certs = await collectCertificates(dir, issuedAt + 3640 * DAY); // 10 days left: a leaf would be renew-soon
      assert.deepEqual(certs.map((c) => c.role), ['ca', 'previous-ca', 'serving', 'admin']);
      assert.equal(certs.find((c) => c.role === 'previous-ca')!.state, 'valid');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('lists a CA staged by a replicated rotation\'s first step, never as renew-soon', async () => {
    const { dir, issuedAt } = await serverDataDir();
    const other = await fs.mkdtemp(path.join(os.tmpdir(), 'bramble-cert-status-other-'));
    try {
      const staged = (await ensureClusterPki(other)).signingCaPem;
      await (await ensureClusterPki(dir)).stageCa(staged);
      const certs = await collectCertificates(dir, issuedAt + 3640 * DAY);
      assert.deepEqual(certs.map((c) => c.role), ['ca', 'staged-ca', 'serving', 'admin']);
      assert.equal(certs.find((c) => c.role === 'staged-ca')!.state, 'valid');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
      await fs.rm(other, { recursive: true, force: true });
    }
  });

  test('reads admin.conf as every client config is read: a malformed one is an error naming the file and the field', async () => {
    const { dir, issuedAt } = await serverDataDir();
    try {
      const file = path.join(dir, 'admin.conf');
      const doc = parseYaml(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
      delete doc.clientCertificate;
      await fs.writeFile(file, JSON.stringify(doc));
      await assert.rejects(collectCertificates(dir, issuedAt), (e: unknown) => e instanceof Error && e.message.includes(`client config ${file}: clientCertificate must be a non-empty string`));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('marks a leaf renew-soon inside its last 30 days and expired after its end, as the clock moves on', async () => {
    const { dir, issuedAt } = await serverDataDir();
    try {
      const soon = await collectCertificates(dir, issuedAt + 350 * DAY);
      assert.equal(soon.find((c) => c.role === 'serving')!.state, 'renew-soon');
      assert.equal(soon.find((c) => c.role === 'ca')!.state, 'valid');
      const late = await collectCertificates(dir, issuedAt + 400 * DAY);
      assert.equal(late.find((c) => c.role === 'serving')!.state, 'expired');
      const early = await collectCertificates(dir, issuedAt - 2 * DAY);
      assert.equal(early.find((c) => c.role === 'serving')!.state, 'not-yet-valid');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('finds an agent\'s node certificate and CA under DIR/agent', async () => {
    const { dir, issuedAt } = await serverDataDir();
    try {
      const agentDir = path.join(dir, 'agent');
      await fs.mkdir(agentDir);
      await fs.copyFile(path.join(dir, 'tls', 'server.crt'), path.join(agentDir, 'node.crt'));
      await fs.copyFile(path.join(dir, 'tls', 'ca.crt'), path.join(agentDir, 'ca.crt'));
      const certs = await collectCertificates(dir, issuedAt);
      assert.deepEqual(certs.map((c) => c.role), ['ca', 'serving', 'admin', 'node', 'agent-ca']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('prints a table for people and the same rows as JSON or YAML', async () => {
    const { dir, issuedAt } = await serverDataDir();
    try {
      const certs = await collectCertificates(dir, issuedAt);
      const table = printCertificates(certs, 'table', dir).stdout;
      assert.match(table, /^ROLE\s+SUBJECT\s+NOT AFTER\s+REMAINING\s+STATE\s+FILE/);
      assert.match(table, /serving .*36[45]d\s+valid/);
      assert.deepEqual(JSON.parse(printCertificates(certs, 'json', dir).stdout), certs);
      assert.deepEqual(parseYaml(printCertificates(certs, 'yaml', dir).stdout), certs);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('says so on stderr when the data dir holds no certificate', async () => {
    const printed = printCertificates([], 'table', '/nowhere');
    assert.equal(printed.stdout, '');
    assert.match(printed.stderr, /No certificates in \/nowhere/);
  });
});
