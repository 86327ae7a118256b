import type { ServerResponse } from 'node:http';
import type { ShapeRuntime } from '../runtime/index.ts';
import { HttpError, invalidRequest, send } from './http-responses.ts';
import { definitionError } from './shape-definition-errors.ts';
import { FieldErrorList, parseDefinitionParams } from './shape-params.ts';
import type { ShapeServing } from './serve-shape.ts';

/**
 * `DELETE /v1/shape` (Electric's `delete_shape_plug`): by `handle`, or by definition (`table`,
 * `where`, ...; with a `handle`, it must be the definition's). The shape and everything that
 * depends on it are removed; their clients get a 409 on their next request. 202, empty.
 */
export async function deleteShape(serving: ShapeServing, runtime: ShapeRuntime, search: URLSearchParams, res: ServerResponse): Promise<void> {
  const errors = new FieldErrorList();
  const handle = search.get('handle');
  let target: string | null = handle;
  if (search.get('table') !== null) {
    const definition = parseDefinitionParams(search, errors);
    if (!definition) throw invalidRequest(errors.errors);
    const active = await serving.reads.handleFor(definition).catch((error: unknown) => Promise.reject(definitionError(error)));
    if (handle !== null && active !== null && handle !== active) {
      throw new HttpError(400, {
        message:
          'The specified shape definition and handle do not match. Please ensure the shape definition is correct or omit the shape handle from the request to obtain a new one.',
      });
    }
    target = active;
  } else if (handle === null) {
    throw invalidRequest({ handle: ["can't be blank when shape definition is missing"] });
  }
  if (target === null || !serving.reads.shape(target)) throw new HttpError(404, { message: 'No existing shape found' });
  const removals = await runtime.remove(target);
  serving.logger.info({ handle: target, removed: removals.map((r) => r.handle) }, 'shape deleted over HTTP');
  send(res, 202, '', { 'cache-control': 'no-cache' });
}
