/**
 * How tests start the CLI as a child process: the built `dist/cli.js` with plain node when the
 * build is current (test/global-setup.ts builds it when it is not), else the sources through tsx
 * (about 2 s of CPU more per process). "Current": dist/.tsbuildinfo, which `npm run build`
 * touches last, is newer than every source file and build setting.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STAMP = join(ROOT, 'dist', '.tsbuildinfo');
const BUILD_INPUTS = ['src', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

function newestMtime(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** dist/ holds a build of the current sources. */
export function buildIsCurrent(): boolean {
  if (!existsSync(STAMP) || !existsSync(join(ROOT, 'dist', 'cli.js'))) return false;
  const built = statSync(STAMP).mtimeMs;
  return BUILD_INPUTS.every((input) => newestMtime(join(ROOT, input)) <= built);
}

/**
 * `node <CLI_ARGS...> <command> ...` runs the CLI (from any directory).
 * `SHAPE_ACTORS_TEST_CLI=tsx` runs the sources through tsx even when the build is current.
 */
export const CLI_ARGS: readonly string[] =
  process.env.SHAPE_ACTORS_TEST_CLI !== 'tsx' && buildIsCurrent() ? [join(ROOT, 'dist', 'cli.js')] : ['--import', 'tsx', join(ROOT, 'src', 'cli.ts')];
