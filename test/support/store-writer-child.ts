// Child process for control-plane/store/store-level.int.test.ts: opens the LevelDB store
// in argv[2] and keeps `inFlight` creates outstanding until killed, printing
// "ack <revision> <name>" only after each write has been acknowledged.
import { openLevelStore } from '../../control-plane/store/store-level.js';

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: store-writer-child <dataDir>\n');
  process.exit(2);
}
const inFlight = 8;
const store = await openLevelStore({ dataDir });
let next = store.objectCount();

async function writer(): Promise<void> {
  for (;;) {
    const name = `c${next++}`;
    const r = await store.propose({
      ops: [{ type: 'put', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { n: name } }, precondition: { absent: true } }],
    });
    // Pipes are written synchronously on Linux: the line is out before the next write starts.
    process.stdout.write(`ack ${r.revision} ${name}\n`);
  }
}

process.stdout.write('ready\n');
await Promise.all(Array.from({ length: inFlight }, () => writer()));
