/** What the machine's actions make of the errors invoked actors fail with. */
import type { EventObject } from 'xstate';
import { ShapeDefinitionError } from '../shapes/errors.ts';
import { StorageError } from '../storage/storage.ts';
import { KeyColumnsChangedError } from '../storage/rows/key-columns-changed-error.ts';
import { RowsUnavailableError } from '../storage/rows/row-store.ts';
import type { RequestError } from './runtime.types.ts';

/** The error of an `xstate.error.actor.*` event (what an invoke's onError hands its actions and guards). */
export function errorOf(event: EventObject): unknown {
  return (event as { error?: unknown }).error;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A request refused before anything was written: a bad definition, a snapshot from a damaged table, rows the store could not read. */
export function isRefusal(error: unknown): boolean {
  return error instanceof ShapeDefinitionError || error instanceof RowsUnavailableError || (error instanceof StorageError && error.code === 'damaged');
}

export function requestError(error: unknown): RequestError {
  if (error instanceof ShapeDefinitionError) return { code: error.code, message: error.message };
  if (error instanceof StorageError) return { code: `storage-${error.code}`, message: error.message };
  if (error instanceof RowsUnavailableError) return { code: 'rows-unavailable', message: error.message };
  if (error instanceof KeyColumnsChangedError) return { code: error.code, message: error.message };
  return { code: 'internal', message: errorText(error) };
}
