#!/usr/bin/env node
/** outpostctl: the operator's CLI of an Outpost fleet, speaking only the NATS bus (see cli.ts). */
import { run } from './cli.js';

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());

process.exit(
  await run(
    process.argv.slice(2),
    { stdout: process.stdout, stderr: process.stderr, env: process.env, now: () => Date.now() },
    stop.signal,
  ),
);
