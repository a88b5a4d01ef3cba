// Loads bramble.proto at run time and gives it the generated types, so no call site handles `any`.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { ProtoGrpcType } from './generated/bramble.js';

export type * from './types.js';

/** bramble.proto sits beside this file in the source tree and two levels up from dist/proto. */
function protoPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'bramble.proto'), path.join(here, '..', '..', 'proto', 'bramble.proto')];
  for (const c of candidates) {
    try {
      // Synchronous on purpose: loading happens once at start-up.
      if (fsExists(c)) return c;
    } catch { /* try the next one */ }
  }
  return candidates[candidates.length - 1]!;
}

import { existsSync as fsExists } from 'node:fs';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cached: ProtoGrpcType | undefined;

export function loadProto(): ProtoGrpcType {
  if (!cached) {
    const def = protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
    cached = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return cached;
}
