/**
 * Before any test file: build dist/ when it is missing or older than the sources, so the CLI
 * end-to-end tests run the built CLI with plain node (test/helpers/built-cli.ts) and the package
 * test packs a current build. A failed build is reported and the CLI tests fall back to tsx.
 */
import { execFileSync } from 'node:child_process';
import { buildIsCurrent, ROOT } from './helpers/built-cli.ts';

export default function setup(): void {
  if (buildIsCurrent()) return;
  process.stderr.write('global setup: dist/ is older than the sources: npm run build\n');
  try {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch {
    process.stderr.write('global setup: the build failed: CLI tests run the sources through tsx\n');
  }
}
