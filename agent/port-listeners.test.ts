// The held ports read from /proc/net text as a little-endian board (x86, arm64 Pi) prints it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { heldPorts, parseProcAddress, parseProcNet, procListenerReader } from './port-listeners.js';

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const tcp = [
  TCP_HEADER,
  // 0.0.0.0:8080 LISTEN
  '   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3199501 1 00000000181809f1 100 0 0 10 0',
  // 127.0.0.1:9000 LISTEN
  '   1: 0100007F:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3199498 1 000000002bc24160 100 0 0 10 0',
  // 192.168.1.10:80 LISTEN
  '   2: 0A01A8C0:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1061 1 0000000051084287 100 0 0 10 0',
  // 192.168.1.10:43210 ESTABLISHED to 192.168.1.1:443: a client, not a listener
  '   3: 0A01A8C0:A8CA 0101A8C0:01BB 01 00000000:00000000 00:00000000 00000000     0        0 1062 1 0000000051084288 100 0 0 10 0',
  // 10.42.1.1:53 LISTEN (the bridge gateway)
  '   4: 01012A0A:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1063 1 0000000051084289 100 0 0 10 0',
  '',
].join('\n');
const TCP6_HEADER = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const tcp6 = [
  TCP6_HEADER,
  // [::]:8443 LISTEN
  '   0: 00000000000000000000000000000000:20FB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0',
  // [::1]:8444 LISTEN
  '   1: 00000000000000000000000001000000:20FC 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0',
  // [::ffff:192.168.1.10]:8445 LISTEN
  '   2: 0000000000000000FFFF00000A01A8C0:20FD 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0',
  '',
].join('\n');
const udp = [
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
  // 0.0.0.0:514 bound
  '  100: 00000000:0202 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0',
  // 192.168.1.10:40000 connected to 192.168.1.1:53 (a resolver client)
  '  101: 0A01A8C0:9C40 0101A8C0:0035 01 00000000:00000000 00:00000000 00000000     0        0 2 2 0 0',
  '',
].join('\n');

const board = ['192.168.1.10'];

describe('port listeners', () => {
  test('an IPv4 field is read in host (little-endian) order, as the kernel prints it', () => {
    assert.deepEqual(parseProcAddress('0100007F:1F90', 'LE'), { bytes: [127, 0, 0, 1], port: 8080 });
    assert.deepEqual(parseProcAddress('7F000001:1F90', 'BE'), { bytes: [127, 0, 0, 1], port: 8080 });
    assert.equal(parseProcAddress('nonsense', 'LE'), undefined);
  });

  test('TCP sockets in LISTEN are listed with their address; connected ones are not', () => {
    const ls = parseProcNet(tcp, 'TCP', 'LE');
    assert.deepEqual(ls.map((l) => `${l.address}:${l.port}${l.wildcard ? '*' : ''}`), ['0.0.0.0:8080*', '127.0.0.1:9000', '192.168.1.10:80', '10.42.1.1:53']);
  });

  test('IPv6 listeners are read as groups, and a v4-mapped address as its IPv4 address', () => {
    const ls = parseProcNet(tcp6, 'TCP', 'LE');
    assert.deepEqual(ls.map((l) => `${l.address}:${l.port}${l.wildcard ? '*' : ''}`), [
      '0000:0000:0000:0000:0000:0000:0000:0000:8443*', '0000:0000:0000:0000:0000:0000:0000:0001:8444', '192.168.1.10:8445',
    ]);
  });

  test('only unconnected UDP sockets hold a port', () => {
    assert.deepEqual(parseProcNet(udp, 'UDP', 'LE').map((l) => l.port), [514]);
  });

  test('a port is held on the board when bound to a wildcard or a board address, not to loopback or the bridge gateway', () => {
    const held = heldPorts([...parseProcNet(tcp, 'TCP', 'LE'), ...parseProcNet(tcp6, 'TCP', 'LE'), ...parseProcNet(udp, 'UDP', 'LE')], board);
    assert.deepEqual([...held].sort(), ['TCP/80', 'TCP/8080', 'TCP/8443', 'TCP/8445', 'UDP/514']);
  });

  test('the reader reads the four files of a directory and skips a missing one', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bramble-procnet-'));
    try {
      writeFileSync(path.join(dir, 'tcp'), tcp);
      writeFileSync(path.join(dir, 'udp'), udp);
      const ls = procListenerReader(dir)();
      // The sample is little-endian: on a big-endian machine the addresses differ, the count does not.
      assert.equal(ls.filter((l) => l.protocol === 'TCP').length, 4);
      assert.equal(ls.filter((l) => l.protocol === 'UDP').length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the real reader sees a TCP socket this process listens on', async () => {
    const net = await import('node:net');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      assert.ok(procListenerReader()().some((l) => l.protocol === 'TCP' && l.port === port && l.wildcard));
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
