/** What the machine's actions read from the events invoked actors send: outputs and errors. */
import type { EventObject } from 'xstate';
import { ShapeDefinitionError } from '../shapes/errors.ts';
import { StorageError } from '../storage/storage.ts';
import { RowsUnavailableError } from '../storage/rows/row-store.ts';
import type { RequestError } from './runtime.types.ts';

/** The output of an invoked actor, from its `xstate.done.actor.*` event. */
export function doneOutput<T>(event: EventObject): T {
  return (event as unknown as { output: T }).output;
}

export function errorText(event: EventObject): string {
  const error = (event as { error?: unknown }).error;
  return error instanceof Error ? error.message : String(error);
}

/** A request refused before anything was written: a bad definition, a snapshot from a damaged table, rows the store could not read. */
export function isRequestRefused(event: EventObject): boolean {
  const error = (event as { error?: unknown }).error;
  return error instanceof ShapeDefinitionError || error instanceof RowsUnavailableError || (error instanceof StorageError && error.code === 'damaged');
}

export function requestError(error: unknown): RequestError {
  if (error instanceof ShapeDefinitionError) return { code: error.code, message: error.message };
  if (error instanceof StorageError) return { code: `storage-${error.code}`, message: error.message };
  if (error instanceof RowsUnavailableError) return { code: 'rows-unavailable', message: error.message };
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}
