import { ShapeRuntimeError } from '../runtime/index.ts';
import { ShapeDefinitionError } from '../shapes/errors.ts';
import { PostgresSourceError } from '../sources/postgres/index.ts';
import { HttpError, invalidRequest, serverStopping, unavailable } from './http-responses.ts';

/** The query parameter a refused definition is about. */
export function definitionField(error: ShapeDefinitionError): string {
  switch (error.code) {
    case 'invalid-table':
      return 'table';
    case 'invalid-columns':
      return 'columns';
    case 'invalid-definition':
      return 'definition';
    default:
      return 'where';
  }
}

/** A definition the runtime refused is the client's error (400, naming the parameter); anything else is ours. */
export function definitionError(error: unknown): unknown {
  return error instanceof ShapeDefinitionError ? invalidRequest({ [definitionField(error)]: [error.message] }) : error;
}

/**
 * Why a shape could not be created, as a response: the definition's fault (400) or a retry
 * (503). `table` is the requested (normalized) table: a refusal naming it is about `table`,
 * one naming another table about a subquery of `where`.
 */
export function creationError(error: unknown, table: string): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof ShapeDefinitionError) return definitionError(error) as HttpError;
  // The Postgres source refuses a table it cannot follow (no primary key; its sync refused): never worth a retry.
  if (error instanceof PostgresSourceError && (error.code === 'definition-refused' || error.code === 'protocol')) {
    return invalidRequest({ [error.message.startsWith(`table ${table} `) || error.message.startsWith(`${table}: `) ? 'table' : 'where']: [error.message] });
  }
  if (error instanceof ShapeRuntimeError && (error.code === 'runtime-stopped' || error.code === 'runtime-failed')) {
    return serverStopping();
  }
  return unavailable('shape_creation_failed', 'Failed to create shape, please retry', 1);
}
