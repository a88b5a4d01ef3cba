#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=30 --v8-pool-size=1
// The V8 flags keep a long-running `bramble server` or `bramble agent` small on a
// 1 GB board (bench/: about 20 MB less resident memory): a young generation of at
// most 4 MB semi-spaces instead of 16 MB (V8 grows it from 1 MB only under
// allocation pressure; at 4 rather than 1, a replicated leader under write load
// spends about 40 % less time in the scavenger: 0.14 against 0.22 ms per write, CPU
// profiles of the bench `replication` loop), the old generation grown by 30 % at a time (what
// --optimize-for-size sets; the default grows it up to 4×: a leader under write
// load sat at ~200 MB instead of ~130 MB), and fewer background threads. Not
// --optimize-for-size itself: it also compiles for size, and cost the replicated
// control plane's leader about a fifth more CPU per write (0.58 against 0.47-0.49
// ms at 64 clients, bench `replication` loop). Tests and benchmarks run this file
// as an executable, so they measure what users run.
// The compiled CLI lives in dist/ (built by `npm install` through the prepare script).
import '../dist/control-plane/cli/main.js';
