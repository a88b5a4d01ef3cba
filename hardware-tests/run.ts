// `npm run test:hardware`: checks a real Raspberry Pi (see README.md). On any
// other machine it says so and exits 0, claiming nothing: the board run, and
// everything it loads, is imported only on a Pi.
import { UsageError } from '../proto/util/errors.js';
import { realBoardFiles } from './board-files.js';
import { readBoardModel } from './board-probes.js';
import { notAPiMessage, parseRunArgs } from './run-options.js';

async function main(): Promise<number> {
  const opts = parseRunArgs(process.argv.slice(2));
  const model = await readBoardModel(realBoardFiles);
  if (!model?.isRaspberryPi) {
    process.stdout.write(notAPiMessage(model));
    return 0;
  }
  const { runOnBoard } = await import('./board-run.js');
  return runOnBoard(model, opts);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bramble hardware tests: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  },
);
