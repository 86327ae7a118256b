/**
 * Crash driver (issue 6): opens a data dir (a real restore), then does a
 * seeded random mix of add (nested subqueries), remove (with cascade), apply
 * (pipelined, so batches group-commit) and checkpoint. Before each request it
 * appends a `begin` line, and once the runtime acknowledges it an `ack` line,
 * to a side file outside the data dir, fsync'd before it moves on: after a
 * SIGKILL the side file says exactly what was acknowledged.
 *
 *   node --import tsx scripts/crash-driver.ts --job '{"dataDir":..., "acks":..., "seed":1, "ops":40}'
 *   node --import tsx scripts/crash-driver.ts --stdin   # prints "ready", reads the job as one JSON line
 *
 * A job may carry `fault: { point, nth }` (test/helpers/fault-fs.ts): the
 * process SIGKILLs itself at that file operation, mid-write for appends and
 * file writes. Exit codes: 0 done (clean shutdown), 3 data dir locked.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createShapeRuntime, ShapeRuntimeError } from '../src/runtime/index.ts';
import { openFileStorage } from '../src/storage/file-store.ts';
import { StorageError } from '../src/storage/storage.ts';
import { loadSqlParser } from '../src/shapes/where/sql-parser.ts';
import { killingFs, type FaultContext, type FaultSpec } from '../test/helpers/fault-fs.ts';
import { int, randomDefinition, randomTransaction, rng } from '../test/helpers/crash-workload.ts';

export interface DriverJob {
  readonly dataDir: string;
  /** Side file of begin/ack lines (outside the data dir). */
  readonly acks: string;
  readonly seed: number;
  /** Requests to make before a clean shutdown. */
  readonly ops: number;
  readonly fault?: FaultSpec;
}

export type AckLine =
  | { readonly t: 'restored'; readonly position: number; readonly loaded: readonly string[] }
  | { readonly t: 'begin'; readonly seq: number; readonly op: 'add'; readonly definition: unknown }
  | { readonly t: 'begin'; readonly seq: number; readonly op: 'remove'; readonly handle: string }
  | { readonly t: 'begin'; readonly seq: number; readonly op: 'apply'; readonly tx: { readonly xid: number; readonly changes: readonly unknown[] } }
  | { readonly t: 'begin'; readonly seq: number; readonly op: 'checkpoint' }
  | {
      readonly t: 'ack';
      readonly seq: number;
      readonly op: 'add';
      readonly handle: string;
      readonly dependencyHandles: readonly string[];
      readonly created: readonly string[];
      /** Dependency handles of every shape the add created. */
      readonly createdDeps: Readonly<Record<string, readonly string[]>>;
    }
  | { readonly t: 'ack'; readonly seq: number; readonly op: 'remove'; readonly removed: readonly string[] }
  | { readonly t: 'ack'; readonly seq: number; readonly op: 'apply'; readonly xid: number; readonly status: 'applied' | 'skipped' }
  | { readonly t: 'ack'; readonly seq: number; readonly op: 'checkpoint' }
  | { readonly t: 'refused'; readonly seq: number; readonly code: string; readonly message: string }
  | { readonly t: 'done' };

async function run(job: DriverJob): Promise<number> {
  const fd = openSync(job.acks, 'a');
  const record = (line: AckLine): void => {
    writeSync(fd, `${JSON.stringify(line)}\n`);
    fsyncSync(fd);
  };
  const ctx: FaultContext = { deletesInRequest: 0 };
  const fs = job.fault ? killingFs(job.fault, ctx) : undefined;
  let storage;
  try {
    storage = await openFileStorage(job.dataDir, { create: true, ...(fs ? { fs } : {}) });
  } catch (error) {
    if (error instanceof StorageError && error.code === 'locked') {
      process.stdout.write(`${JSON.stringify({ locked: error.message })}\n`);
      return 3;
    }
    throw error;
  }
  const runtime = await createShapeRuntime({ storage });
  // A batch the crash interrupted is applied again ahead of any request, after the
  // runtime is already `running`: wait for it, or position() is the one before it.
  if (runtime.report.problems.some((p) => /interrupted mid-write/.test(p.reason))) await runtime.checkpoint();
  record({ t: 'restored', position: runtime.position(), loaded: runtime.report.loaded });
  process.stdout.write('restored\n');

  const rand = rng(job.seed);
  let seq = 0;
  let nextXid = runtime.position() + 1;
  const refused = (s: number, error: unknown): void => {
    if (!(error instanceof ShapeRuntimeError)) throw error;
    record({ t: 'refused', seq: s, code: error.code, message: error.message });
  };
  for (let i = 0; i < job.ops; i++) {
    ctx.deletesInRequest = 0;
    const r = rand();
    if (r < 0.25) {
      const definition = randomDefinition(rand);
      const s = ++seq;
      record({ t: 'begin', seq: s, op: 'add', definition });
      try {
        const added = await runtime.add({ ...definition });
        const created = new Set(added.created);
        const createdDeps = Object.fromEntries(runtime.list().filter((x) => created.has(x.handle)).map((x) => [x.handle, x.dependencyHandles]));
        record({ t: 'ack', seq: s, op: 'add', handle: added.handle, dependencyHandles: added.dependencyHandles, created: added.created, createdDeps });
      } catch (error) {
        refused(s, error);
      }
    } else if (r < 0.37) {
      const shapes = runtime.list();
      if (shapes.length === 0) continue;
      const handle = shapes[int(rand, 0, shapes.length - 1)]!.handle;
      const s = ++seq;
      record({ t: 'begin', seq: s, op: 'remove', handle });
      try {
        const removals = await runtime.remove(handle);
        record({ t: 'ack', seq: s, op: 'remove', removed: removals.map((x) => x.handle) });
      } catch (error) {
        refused(s, error);
      }
    } else if (r < 0.93) {
      // Pipelined: the runtime batches what is queued (group commit).
      const n = int(rand, 1, 3);
      const sent: Promise<void>[] = [];
      for (let k = 0; k < n; k++) {
        const tx = randomTransaction(rand, nextXid++);
        const s = ++seq;
        record({ t: 'begin', seq: s, op: 'apply', tx });
        sent.push(
          runtime.applyTransaction(tx).then(
            (out) => record({ t: 'ack', seq: s, op: 'apply', xid: out.xid, status: out.status }),
            (error: unknown) => refused(s, error),
          ),
        );
      }
      await Promise.all(sent);
    } else {
      const s = ++seq;
      record({ t: 'begin', seq: s, op: 'checkpoint' });
      try {
        await runtime.checkpoint();
        record({ t: 'ack', seq: s, op: 'checkpoint' });
      } catch (error) {
        refused(s, error);
      }
    }
  }
  await runtime.shutdown();
  await storage.close();
  record({ t: 'done' });
  closeSync(fd);
  process.stdout.write('done\n');
  return 0;
}

async function main(): Promise<void> {
  await loadSqlParser();
  const args = process.argv.slice(2);
  let job: DriverJob;
  if (args[0] === '--stdin') {
    process.stdout.write('ready\n');
    const lines = createInterface({ input: process.stdin });
    const first = await new Promise<string>((resolve) => lines.once('line', resolve));
    lines.close();
    job = JSON.parse(first) as DriverJob;
  } else if (args[0] === '--job' && args[1]) {
    job = JSON.parse(args[1]) as DriverJob;
  } else {
    process.stderr.write('usage: crash-driver.ts --job JSON | --stdin\n');
    process.exit(2);
  }
  process.exitCode = await run(job);
}

main().catch((error: unknown) => {
  process.stderr.write(`crash-driver: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
