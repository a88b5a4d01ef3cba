import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureGrpcFloor } from './grpc-floor.js';

test('the gRPC floor answers every call over the product\'s mutual TLS and reports the CPU of both sides', async () => {
  const lines: string[] = [];
  const { clients64: r } = await measureGrpcFloor(2000, (m) => lines.push(m));
  assert.equal(r.failed, 0, r.firstError);
  assert.equal(r.writes, 2000);
  assert.equal(r.concurrency, 64);
  assert.equal(r.cpuMsPerWrite.byMember.length, 1, 'one server process');
  // 2,000 calls cost each side well over one 10 ms tick of /proc accounting.
  assert.ok(r.cpuMsPerWrite.members.value > 0, `server CPU per call: ${r.cpuMsPerWrite.members.value}`);
  assert.ok(r.cpuMsPerWrite.loadGenerator.value > 0, `client CPU per call: ${r.cpuMsPerWrite.loadGenerator.value}`);
  // Each figure is rounded to 0.001 ms on its own.
  const sum = r.cpuMsPerWrite.members.value + r.cpuMsPerWrite.loadGenerator.value;
  assert.ok(Math.abs(r.cpuMsPerWrite.total.value - sum) <= 0.0015, `total ${r.cpuMsPerWrite.total.value} is the sum ${sum}`);
  assert.deepEqual(lines, ['grpc floor: starting the server', 'grpc floor: 2000 calls, 64 clients']);
});
