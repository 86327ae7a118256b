/**
 * Deterministic crash states: the data dir as a crash after any prefix of a
 * recorded DurableFs operation sequence would leave it (test/helpers/fault-fs.ts
 * records them). Replaying a prefix onto a copy of the starting dir gives the
 * state after those operations completed; a torn variant also leaves half of
 * the next write (half an append, half a new file, or a half-written temp file
 * beside a file being replaced: what write-file-atomic leaves when killed).
 */
import { appendFile, cp, mkdir, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describeOp, type FsOp } from './fault-fs.ts';

export interface CrashState {
  /** Operations completed before the crash. */
  readonly completed: number;
  /** The next operation was half done. */
  readonly torn: boolean;
  readonly label: string;
}

/** Every crash state of `ops`: after 0..n operations, plus a torn variant of each write. */
export function crashStates(ops: readonly FsOp[], root: string): CrashState[] {
  const states: CrashState[] = [];
  for (let k = 0; k <= ops.length; k++) {
    const next = ops[k];
    states.push({ completed: k, torn: false, label: `after ${k}/${ops.length} ops${next ? ` (next: ${describeOp(next, root)})` : ''}` });
    if (next && (next.kind === 'append' || next.kind === 'createFile' || next.kind === 'replaceFile')) {
      states.push({ completed: k, torn: true, label: `after ${k}/${ops.length} ops, then half of: ${describeOp(next, root)}` });
    }
  }
  return states;
}

const half = (data: string | Uint8Array): Buffer => {
  const bytes = Buffer.from(data);
  return bytes.subarray(0, Math.floor(bytes.length / 2));
};

/** Builds the crash state in `target`: a copy of `start` with the state's operations replayed (paths under `from` mapped to `target`). */
export async function buildCrashState(start: string, from: string, target: string, ops: readonly FsOp[], state: CrashState): Promise<void> {
  await rm(target, { recursive: true, force: true });
  await cp(start, target, { recursive: true });
  const map = (p: string): string => (p === from || p.startsWith(`${from}/`) ? target + p.slice(from.length) : p);
  for (let k = 0; k < state.completed; k++) await replay(ops[k]!, map);
  if (state.torn) await tear(ops[state.completed]!, map);
}

async function replay(op: FsOp, map: (p: string) => string): Promise<void> {
  switch (op.kind) {
    case 'mkdir':
      await mkdir(map(op.path), { recursive: true });
      return;
    case 'createFile':
      await writeFile(map(op.path), op.data, { flag: 'wx' });
      return;
    case 'append':
      await appendFile(map(op.path), op.data);
      return;
    case 'replaceFile':
      await writeFile(map(op.path), op.data);
      return;
    case 'rename':
      await rename(map(op.from), map(op.to));
      return;
    case 'remove':
      await rm(map(op.path), { recursive: true, force: true });
      return;
    case 'truncate':
      await truncate(map(op.path), op.length);
      return;
    case 'syncDirectory':
      return;
  }
}

async function tear(op: FsOp, map: (p: string) => string): Promise<void> {
  if (op.kind === 'append') await appendFile(map(op.path), half(op.data));
  else if (op.kind === 'createFile') await writeFile(map(op.path), half(op.data), { flag: 'wx' });
  else if (op.kind === 'replaceFile') await writeFile(join(dirname(map(op.path)), `${basename(op.path)}.12345-torn`), half(op.data));
}
