/**
 * Runs one benchmark case in a child process (`bench/worker.ts`), so heavy
 * cases (100k shapes) start with a fresh heap and do not leave garbage for the
 * next one, with the V8 flags a large service runs with (the README). The
 * child writes its result as JSON to a temp file.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVICE_SEMI_SPACE_MIB } from '../../src/cli/young-generation.ts';
import { BENCH_DIR } from './report.ts';

export interface ChildOptions {
  /** Profile the measured sections into this directory. */
  readonly profileDir?: string;
  /** Heap limit for the child (MiB). */
  readonly maxOldSpaceMiB?: number;
  /**
   * V8's semi-space (MiB): by default the one the README runs a service with
   * (src/cli/young-generation.ts); null: Node's own default.
   */
  readonly semiSpaceMiB?: number | null;
}

export async function runInChild<T>(kind: string, args: Record<string, unknown>, options: ChildOptions = {}): Promise<T> {
  const tmp = mkdtempSync(join(tmpdir(), 'shape-actors-bench-result-'));
  const out = join(tmp, 'result.json');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--expose-gc',
          `--max-old-space-size=${options.maxOldSpaceMiB ?? 12_288}`,
          ...(options.semiSpaceMiB === null ? [] : [`--max-semi-space-size=${options.semiSpaceMiB ?? SERVICE_SEMI_SPACE_MIB}`]),
          '--import',
          'tsx',
          join(BENCH_DIR, 'worker.ts'),
          kind,
          JSON.stringify(args),
          out,
        ],
        {
          stdio: ['ignore', 'inherit', 'inherit'],
          env: { ...process.env, ...(options.profileDir ? { BENCH_PROFILE_DIR: options.profileDir } : {}) },
        },
      );
      child.on('error', reject);
      child.on('exit', (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new Error(`bench worker ${kind} ${JSON.stringify(args)} exited with code ${code}`);
    return JSON.parse(readFileSync(out, 'utf8')) as T;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
