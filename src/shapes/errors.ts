/**
 * Typed errors for shape definitions. Every message starts with the error code and names the
 * offending fragment, e.g.
 *   `invalid-where: syntax error at or near "1" (position 7) in "id = 1 1"`.
 */
export type ShapeDefinitionErrorCode =
  | 'invalid-definition'
  | 'invalid-table'
  | 'invalid-columns'
  | 'invalid-where'
  | 'unsupported-where'
  | 'subquery-without-column'
  | 'subquery-shape';

export class ShapeDefinitionError extends Error {
  readonly code: ShapeDefinitionErrorCode;
  /** The offending fragment of the input (a token, a table name, a where-clause excerpt...). */
  readonly detail?: string;

  constructor(code: ShapeDefinitionErrorCode, message: string, detail?: string) {
    super(message.startsWith(`${code}:`) ? message : `${code}: ${message}`);
    this.name = 'ShapeDefinitionError';
    this.code = code;
    if (detail !== undefined) this.detail = detail;
  }
}

export function isShapeDefinitionError(e: unknown): e is ShapeDefinitionError {
  return e instanceof ShapeDefinitionError;
}
