/** A consumer asked for a dependency's values while its materializer is not running: its shape must go, not restart. */
export class DependencyMissingError extends Error {
  override readonly name = 'DependencyMissingError';
  constructor(
    readonly handle: string,
    readonly dependency: number,
    readonly dependencyActorId: string,
  ) {
    super(`shape ${handle}: materializer of dependency ${dependency} (${dependencyActorId}) is not running`);
  }
}

/** Is this failure a missing dependency (removal `materializer-missing`) rather than the consumer's own? */
export function isDependencyMissing(error: unknown): error is DependencyMissingError {
  return error instanceof DependencyMissingError;
}
