// `bramble image import FILE --node NODE`: sends an image tarball (`docker
// save`, `ctr images export`) to one board's containerd through the control
// plane, for boards that cannot reach a registry. The file is read in 1 MiB
// chunks as the stream drains, so a large image never sits in memory whole.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { BrambleError } from '../../proto/util/errors.js';
import type { ImageChunk } from '../../proto/generated/bramble/v1/ImageChunk.js';
import { withCluster } from './cli-client.js';
import type { CommandContext, TextSink } from './cli-context.js';
import { UsageError } from './cli-errors.js';

export const IMAGE_CHUNK_BYTES = 1024 * 1024;
/** Smaller files go through in a moment: no progress lines for them. */
export const PROGRESS_MIN_BYTES = 16 * 1024 * 1024;
const MI = 1024 * 1024;

export interface ImageImportInput {
  file: string;
  node?: string;
}

/**
 * The percentage to report after `sent` of `total` bytes, when a new 10% step
 * has been reached since `lastShown`; undefined otherwise.
 */
export function progressStep(sent: number, total: number, lastShown: number): number | undefined {
  if (total <= 0) return undefined;
  const step = Math.floor((100 * Math.min(sent, total)) / total / 10) * 10;
  return step > lastShown ? step : undefined;
}

export function progressLine(percent: number, sent: number, total: number): string {
  return `sent ${percent}% (${(sent / MI).toFixed(1)} of ${(total / MI).toFixed(1)} MiB)\n`;
}

/** The file's chunks as ImageChunks, the first naming the node; reports progress as they are taken. */
async function* imageChunks(file: string, node: string, total: number, progress: TextSink | undefined): AsyncGenerator<ImageChunk> {
  let first = true;
  let sent = 0;
  let shown = 0;
  for await (const data of createReadStream(file, { highWaterMark: IMAGE_CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    yield first ? { node, data } : { data };
    first = false;
    sent += data.length;
    const step = progress ? progressStep(sent, total, shown) : undefined;
    if (step !== undefined) {
      shown = step;
      progress?.write(progressLine(step, sent, total));
    }
  }
  // An empty file still names the node, so the server can say what is wrong with it.
  if (first) yield { node, data: Buffer.alloc(0) };
}

export async function runImageImport(ctx: CommandContext, input: ImageImportInput): Promise<number> {
  if (!input.node) throw new UsageError('--node NODE is required: the board whose containerd gets the image');
  if (input.file === '') throw new UsageError('image import needs a FILE: an image tarball from `docker save` or `ctr images export`');
  const info = await stat(input.file).catch((e: NodeJS.ErrnoException) => {
    throw new BrambleError('INVALID_ARGUMENT', `image file must be readable: cannot open "${input.file}" (${e.code ?? e.message})`);
  });
  if (!info.isFile()) throw new BrambleError('INVALID_ARGUMENT', `image file must be a regular file: "${input.file}" is not`);
  const progress = info.size >= PROGRESS_MIN_BYTES ? ctx.io.stderr : undefined;
  const res = await withCluster(ctx.connect, (conn) => conn.importImage(imageChunks(input.file, input.node!, info.size, progress)));
  for (const name of res.images) ctx.io.stdout.write(name + '\n');
  if (res.images.length === 0) ctx.io.stderr.write(`the tarball held no image: nothing was imported on node ${input.node}\n`);
  return 0;
}
