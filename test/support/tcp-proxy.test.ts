// The fault-injecting proxy of the fault tests: bytes pass both ways, a cut
// resets the open connections and refuses new ones until healed, and a block
// refuses only the connections of the process it names.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { freePort } from './server-process.js';
import { socketOwner } from './socket-owner.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/** Connects, sends `text`, and resolves with what came back, or with the error that ended the connection. */
function exchange(port: number, text: string): Promise<{ data: string; error?: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      data += d;
      if (data.length >= text.length) s.end();
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ data, error: e.code ?? e.message }));
    s.on('close', () => resolve({ data }));
    s.write(text);
  });
}

describe('the fault-injecting TCP proxy', () => {
  let echo: net.Server;
  let proxy: TcpProxy;
  const self = 'this test';

  before(async () => {
    echo = net.createServer((s) => s.on('error', () => undefined).pipe(s));
    const echoPort = await freePort();
    await new Promise<void>((r) => echo.listen(echoPort, '127.0.0.1', () => r()));
    const port = await freePort();
    proxy = await startTcpProxy({
      port, targetPort: echoPort,
      originOf: (remotePort) => (socketOwner(remotePort, port, [process.pid]) === process.pid ? self : undefined),
    });
  });
  after(async () => {
    await proxy.close();
    await new Promise<void>((r) => echo.close(() => r()));
  });

  test('pipes bytes both ways', async () => {
    assert.deepEqual(await exchange(proxy.port, 'hello'), { data: 'hello' });
  });

  test('a cut resets an open connection and refuses new ones until healed', async () => {
    const open = net.connect({ host: '127.0.0.1', port: proxy.port });
    await new Promise<void>((r) => open.once('connect', () => r()));
    open.write('x');
    await new Promise((r) => open.once('data', r));
    const ended = new Promise<string>((resolve) => open.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')).once('close', () => resolve('closed')));
    proxy.cut();
    assert.equal(await ended, 'ECONNRESET');
    const refused = await exchange(proxy.port, 'again');
    assert.equal(refused.data, '');
    assert.equal(refused.error, 'ECONNRESET');
    proxy.heal();
    assert.deepEqual(await exchange(proxy.port, 'healed'), { data: 'healed' });
  });

  test('a block refuses the connections of the process it names, and only those', async () => {
    proxy.block('another process');
    assert.deepEqual(await exchange(proxy.port, 'still'), { data: 'still' }, 'this process is not the one blocked');
    proxy.block(self);
    assert.equal((await exchange(proxy.port, 'blocked')).error, 'ECONNRESET');
    proxy.unblock(self);
    assert.deepEqual(await exchange(proxy.port, 'back'), { data: 'back' });
  });
});
