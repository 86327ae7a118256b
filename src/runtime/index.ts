export * from './shape-runtime.ts';
export type { ShapeReads, ServedShape, RemovedShape, ReadPageOptions } from './shape-reads.ts';
export type { LiveWait } from './live-waiters.ts';
export type { ShapeColumn, TableCatalog, TableSchema } from './shape-columns.ts';
export type { ShapeActivity } from '../machines/runtime-read-view.ts';
