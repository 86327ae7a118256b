#!/usr/bin/env node
/**
 * The shape-actors CLI: `npx shape-actors <command>` (package.json's `bin`, bin/shape-actors.js,
 * runs this file built, dist/cli.js, with plain node), `npx tsx src/cli.ts <command>` or
 * `npm run shape-actors -- <command>`.
 * Commands live in src/cli/commands/; see `--help`.
 */
import { runCli } from './cli/main.ts';

// A reader that stops early (`... | head`) is not an error of ours: no stack trace for EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

process.exitCode = await runCli(process.argv.slice(2));
