/**
 * shape-actors' public API (`import ... from 'shape-actors'`): the runtime as
 * XState actor logic for hosts that embed it in their own actor system, the
 * promise facade for hosts without XState, storage, and the inspection recorder.
 * Parts that need optional packages have subpaths of their own:
 * `shape-actors/postgres` (the Postgres source: `pg`, `pg-logical-replication`)
 * and `shape-actors/inspector` (the live Stately inspector: `@statelyai/inspect`, `ws`).
 */
export { shapeRuntimeMachine } from './machines/restore.machine.ts';
export type {
  BatchOutcome,
  PhaseTiming,
  RequestError,
  RestorePhase,
  RestoreReport,
  RuntimeEmitted,
  RuntimeOutput,
  RuntimeRequest,
  ShapeRuntimeInput,
} from './machines/runtime.types.ts';
export {
  createShapeRuntime,
  planRestore,
  ShapeRuntimeError,
  type AddedShape,
  type CreateShapeRuntimeOptions,
  type ShapeRuntime,
  type ShapeRuntimeActor,
  type ShapeActivity,
  type ShapeSummary,
  type ShapeReads,
  type ServedShape,
  type RemovedShape,
  type ReadPageOptions,
  type LiveWait,
  type ShapeColumn,
  type TableCatalog,
  type TableSchema,
} from './runtime/index.ts';
export { BEFORE_ALL, SNAPSHOT_END, compareLogOffsets, formatLogOffset, parseLogOffset, type LogOffset } from './shapes/log-offset.ts';
export { causeChain, type Removal, type RemovalReason } from './graph/removal.ts';
export type { RestorePolicy } from './graph/restore-plan.ts';
export type { LoadMode, RestoreProblem } from './restore/load-result.ts';
export { FileStorage, MemoryStorage, openFileStorage, dataDirLayout, StorageError, type LogEntry, type LogPage, type LogPageRequest, type PositionedEntry, type ShapeStorage, type StoredShape } from './storage/index.ts';
export type { ShapeDefinition, Replica } from './shapes/definition.ts';
export type { Transaction } from './shapes/transaction.ts';
export { columnType, tableColumnTypes, type ColumnType, type TableColumnTypes } from './shapes/column-types.ts';
export { canonicalKey, constantKeys } from './shapes/where/index.ts';
export { createInspectionRecorder, type InspectionRecorder, type RecordedInspectionEvent } from './inspection/inspection-recorder.ts';
export { createStderrLogger, silentLogger, type LogLevel, type RuntimeLogger } from './logging/runtime-logger.ts';
export { createShapeHandler, type ShapeHandler, type ShapeHandlerOptions } from './http/shape-handler.ts';
export { startShapeServer, type ShapeServer, type ShapeServerOptions } from './http/shape-server.ts';
export { MissingPackageError } from './optional-peers.ts';
