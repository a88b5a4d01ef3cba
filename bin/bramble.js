#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1
// The V8 flags keep a long-running `bramble server` or `bramble agent` small on a
// 1 GB board (bench/: about 20 MB less resident memory): a 1 MB young generation
// instead of 16 MB, and fewer background threads. Not --optimize-for-size: it
// cost the replicated control plane's leader about a quarter more CPU per write
// (bench `replication`) for a few MB of RSS (bench `api`: 91 → 99 MB after start,
// 104.5 → 105.8 MB after idle). Tests and benchmarks run this file as an
// executable, so they measure what users run.
// The compiled CLI lives in dist/ (built by `npm install` through the prepare script).
import '../dist/control-plane/cli/main.js';
