#!/usr/bin/env node
// The CLI (package.json `bin`): the build, dist/cli.js, with plain node. In a source checkout that
// has not been built (`npm run build`), the sources through tsx instead, so `npx shape-actors`
// works right after `npm ci` (after changing the sources, build again, or use `npm run shape-actors`).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli.ts', import.meta.url).href);
}
