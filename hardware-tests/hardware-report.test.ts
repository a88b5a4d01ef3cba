import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, summaryText, type ReportInput } from './hardware-report.js';

const idle = {
  windowSeconds: 60,
  controlPlane: { rssBytes: 60 * 1024 * 1024, cpuPercent: 0.5, writeBytesPerMinute: 2048 },
  agent: { rssBytes: 45 * 1024 * 1024, cpuPercent: 1.25, writeBytesPerMinute: 0 },
};

function pi4(over: Partial<ReportInput> = {}): ReportInput {
  return {
    generatedAt: new Date('2026-12-02T10:00:00Z'),
    brambleVersion: '0.1.0',
    model: { model: 'Raspberry Pi 4 Model B Rev 1.4', isRaspberryPi: true, series: '4' },
    architecture: 'arm64',
    kernel: '6.6.51+rpt-rpi-v8',
    memoryTotalBytes: 1024 * 1024 * 1024,
    temperature: { celsius: 48.3, detail: '48.3 °C from /sys/class/thermal/thermal_zone0/temp' },
    memoryCgroup: { version: 2, enabled: true, detail: 'cgroup v2 with the memory controller' },
    iptables: { value: { mode: 'nft', reason: 'only iptables-nft is installed', saveExitCode: 0 } },
    container: { value: { machine: 'aarch64', pod: 'hardware-arch' } },
    idle: { value: idle },
    ...over,
  };
}

describe('hardware report', () => {
  test('a healthy Pi 4 passes every check and carries its board and idle figures', () => {
    const r = buildReport(pi4());
    assert.equal(r.ok, true);
    assert.deepEqual(r.checks.map((c) => [c.name, c.ok]), [
      ['model', true], ['architecture', true], ['temperature', true], ['memory-cgroup', true], ['iptables-backend', true], ['container', true], ['idle-figures', true],
    ]);
    assert.deepEqual(r.board, {
      model: 'Raspberry Pi 4 Model B Rev 1.4', series: '4', architecture: 'arm64', kernel: '6.6.51+rpt-rpi-v8', memoryTotalBytes: 1073741824, temperatureCelsius: 48.3,
    });
    assert.deepEqual(r.idle, idle);
    assert.equal(r.generatedAt, '2026-12-02T10:00:00.000Z');
    assert.equal(r.kind, 'bramble-hardware-report');
    // What is written is what is read back.
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  });

  test('a container that ran as another architecture fails the container check, naming both', () => {
    const r = buildReport(pi4({ container: { value: { machine: 'x86_64', pod: 'hardware-arch' } } }));
    assert.equal(r.ok, false);
    assert.deepEqual(r.checks.find((c) => c.name === 'container'), { name: 'container', ok: false, detail: 'pod hardware-arch must run as arm64: uname -m printed "x86_64"' });
  });

  test('a 32-bit Pi OS is arm, and its armv7l container matches', () => {
    const r = buildReport(pi4({ architecture: 'arm', container: { value: { machine: 'armv7l', pod: 'p' } } }));
    assert.equal(r.ok, true);
  });

  test('the memory cgroup off, no sensor, a failed iptables save and no idle figures each fail with their reason', () => {
    const r = buildReport(pi4({
      memoryCgroup: { version: 2, enabled: false, detail: 'cgroup v2 without the memory controller' },
      temperature: { celsius: null, detail: 'no sensor' },
      iptables: { value: { mode: 'legacy', reason: 'r', saveExitCode: 1 } },
      idle: { error: 'the agent exited' },
    }));
    assert.equal(r.ok, false);
    assert.deepEqual(r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`), [
      'temperature: no sensor',
      'memory-cgroup: cgroup v2 without the memory controller',
      'iptables-backend: legacy (r), but its save command exited with 1',
      'idle-figures: the agent exited',
    ]);
    assert.equal(r.idle, null);
    assert.equal(r.board.temperatureCelsius, null);
  });

  test('a machine that is not an ARM board fails the architecture check', () => {
    const c = buildReport(pi4({ architecture: 'amd64' })).checks.find((x) => x.name === 'architecture');
    assert.equal(c?.ok, false);
    assert.match(c?.detail ?? '', /must be one of arm64, arm: Node\.js runs as amd64/);
  });

  test('the summary has a line per check and the idle figures of both processes', () => {
    const text = summaryText(buildReport(pi4({ temperature: { celsius: null, detail: 'no sensor' } })), '/tmp/r.json');
    assert.match(text, /^Raspberry Pi 4 Model B Rev 1\.4 \(arm64, kernel 6\.6\.51\+rpt-rpi-v8, 1024\.0 MiB\), Bramble 0\.1\.0\n/);
    assert.match(text, /^ok {4}model {13}Raspberry Pi 4/m);
    assert.match(text, /^FAIL {2}temperature {7}no sensor$/m);
    assert.match(text, /^ {2}control plane {2}RSS 60\.0 MiB {2}CPU 0\.50% {2}disk writes 2\.0 KiB\/min$/m);
    assert.match(text, /^ {2}agent {10}RSS 45\.0 MiB {2}CPU 1\.25% {2}disk writes 0\.0 KiB\/min$/m);
    assert.match(text, /1 check\(s\) failed; report in \/tmp\/r\.json\n$/);
  });
});
