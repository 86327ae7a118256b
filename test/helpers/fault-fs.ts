/**
 * DurableFs wrappers for the crash tests: one that records every operation
 * (to rebuild the data dir as a crash after any prefix would leave it), and
 * one that kills its own process (SIGKILL, no cleanup, no flush) at a chosen
 * operation, optionally after writing half of it.
 */
import { appendFileSync, closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { nodeDurableFs, type DurableFs } from '../../src/storage/fs-durable.ts';

export type FsOp =
  | { readonly kind: 'mkdir'; readonly path: string }
  | { readonly kind: 'createFile'; readonly path: string; readonly data: string | Uint8Array }
  | { readonly kind: 'append'; readonly path: string; readonly data: string }
  | { readonly kind: 'replaceFile'; readonly path: string; readonly data: string }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string }
  | { readonly kind: 'remove'; readonly path: string }
  | { readonly kind: 'truncate'; readonly path: string; readonly length: number }
  | { readonly kind: 'syncDirectory'; readonly path: string };

/** Where an operation writes (for filters and messages). */
export function opPath(op: FsOp): string {
  return op.kind === 'rename' ? op.to : op.path;
}

export function describeOp(op: FsOp, root = ''): string {
  const rel = (p: string): string => (root && p.startsWith(root) ? p.slice(root.length + 1) : p);
  switch (op.kind) {
    case 'rename':
      return `rename ${rel(op.from)} -> ${rel(op.to)}`;
    case 'truncate':
      return `truncate ${rel(op.path)} to ${op.length}`;
    case 'createFile':
    case 'append':
    case 'replaceFile':
      return `${op.kind} ${rel(op.path)} (${Buffer.byteLength(op.data)} bytes)`;
    default:
      return `${op.kind} ${rel(op.path)}`;
  }
}

/** A DurableFs that performs every operation for real and records it, in order, once it completed. */
export function recordingFs(inner: DurableFs = nodeDurableFs): { fs: DurableFs; ops: FsOp[] } {
  const ops: FsOp[] = [];
  const fs: DurableFs = {
    async mkdir(path) {
      await inner.mkdir(path);
      ops.push({ kind: 'mkdir', path });
    },
    async createFile(path, data) {
      await inner.createFile(path, data);
      ops.push({ kind: 'createFile', path, data });
    },
    async append(path, data) {
      await inner.append(path, data);
      ops.push({ kind: 'append', path, data });
    },
    async replaceFile(path, data) {
      await inner.replaceFile(path, data);
      ops.push({ kind: 'replaceFile', path, data });
    },
    async rename(from, to) {
      await inner.rename(from, to);
      ops.push({ kind: 'rename', from, to });
    },
    async remove(path) {
      await inner.remove(path);
      ops.push({ kind: 'remove', path });
    },
    async truncate(path, length) {
      await inner.truncate(path, length);
      ops.push({ kind: 'truncate', path, length });
    },
    async syncDirectory(path) {
      await inner.syncDirectory(path);
      ops.push({ kind: 'syncDirectory', path });
    },
  };
  return { fs, ops };
}

/** Named places a crash is injected at (SPEC issue 6), besides `any` (the n-th operation of any kind). */
export type FaultPoint = 'any' | 'backup' | 'cascade-delete' | 'log-append' | 'definition' | 'journal-append' | 'table-append' | 'table-compact' | 'metadata-append';

export interface FaultSpec {
  readonly point: FaultPoint;
  /** Fire at the n-th (1-based) operation this point matches. */
  readonly nth: number;
}

/** What the driver tells the fault fs about the request it is carrying out. */
export interface FaultContext {
  /** Trash renames (shape deletes) since the current request began. */
  deletesInRequest: number;
}

/** Does `op` match the fault point? (`ctx` knows how many shape deletes the current removal did.) */
export function matchesPoint(point: FaultPoint, op: FsOp, ctx: FaultContext): boolean {
  const name = basename(opPath(op));
  switch (point) {
    case 'any':
      return true;
    case 'backup':
      return op.kind === 'replaceFile' && name === 'registry.jsonl';
    case 'cascade-delete':
      // Between deleting one shape's storage and its dependents': before the 2nd, 3rd... delete of one removal.
      return op.kind === 'rename' && basename(op.to).startsWith('.trash-') && ctx.deletesInRequest >= 1;
    case 'log-append':
      return op.kind === 'append' && name === 'log.jsonl';
    case 'definition':
      return (op.kind === 'createFile' || op.kind === 'replaceFile') && name === 'definition.json';
    case 'journal-append':
      return op.kind === 'append' && name === 'journal.jsonl';
    case 'table-append':
      return op.kind === 'append' && basename(dirname(opPath(op))) === 'tables';
    case 'table-compact':
      // A table log replaced by its live rows (compaction, or a cleared damage).
      return op.kind === 'replaceFile' && basename(dirname(opPath(op))) === 'tables' && name.endsWith('.jsonl');
    case 'metadata-append':
      // After a shape directory was renamed into place or to the trash, before the metadata log says so.
      return op.kind === 'append' && name === 'metadata.jsonl';
  }
}

/**
 * A DurableFs that SIGKILLs its own process when the fault fires. An append
 * hit by the fault writes (and syncs) the first half of its bytes first: the
 * torn write a power cut leaves. A createFile writes half of its file; a
 * replaceFile leaves a half-written temp file beside the target (what
 * write-file-atomic leaves when killed mid-write), the target untouched.
 * Every other operation is killed before it starts.
 */
export function killingFs(spec: FaultSpec, ctx: FaultContext, onFire?: (op: FsOp, seen: number) => void, inner: DurableFs = nodeDurableFs): DurableFs {
  let seen = 0;
  const check = (op: FsOp): void => {
    if (!matchesPoint(spec.point, op, ctx)) return;
    seen++;
    if (seen !== spec.nth) return;
    onFire?.(op, seen);
    tear(op);
    process.kill(process.pid, 'SIGKILL');
  };
  const noteDelete = (to: string): void => {
    if (basename(to).startsWith('.trash-')) ctx.deletesInRequest++;
  };
  return {
    async mkdir(path) {
      check({ kind: 'mkdir', path });
      await inner.mkdir(path);
    },
    async createFile(path, data) {
      check({ kind: 'createFile', path, data });
      await inner.createFile(path, data);
    },
    async append(path, data) {
      check({ kind: 'append', path, data });
      await inner.append(path, data);
    },
    async replaceFile(path, data) {
      check({ kind: 'replaceFile', path, data });
      await inner.replaceFile(path, data);
    },
    async rename(from, to) {
      check({ kind: 'rename', from, to });
      await inner.rename(from, to);
      noteDelete(to);
    },
    async remove(path) {
      check({ kind: 'remove', path });
      await inner.remove(path);
    },
    async truncate(path, length) {
      check({ kind: 'truncate', path, length });
      await inner.truncate(path, length);
    },
    async syncDirectory(path) {
      check({ kind: 'syncDirectory', path });
      await inner.syncDirectory(path);
    },
  };
}

/** The partial effect of an operation interrupted mid-write (synchronous: the kill follows at once). */
function tear(op: FsOp): void {
  const half = (data: string | Uint8Array): Buffer => {
    const bytes = Buffer.from(data);
    return bytes.subarray(0, Math.floor(bytes.length / 2));
  };
  if (op.kind === 'append') {
    appendFileSync(op.path, half(op.data));
    syncFile(op.path);
  } else if (op.kind === 'createFile') {
    const fd = openSync(op.path, 'wx');
    writeSync(fd, half(op.data));
    fdatasyncSync(fd);
    closeSync(fd);
  } else if (op.kind === 'replaceFile') {
    const temp = join(dirname(op.path), `${basename(op.path)}.${process.pid}-torn`);
    const fd = openSync(temp, 'w');
    writeSync(fd, half(op.data));
    fdatasyncSync(fd);
    closeSync(fd);
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
