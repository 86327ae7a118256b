/**
 * Packages only optional parts need (`pg` and `pg-logical-replication` for the Postgres source,
 * `@statelyai/inspect` and `ws` for the live inspector) are optional peer dependencies: a host
 * that does not use those parts need not install them. They are loaded when first used, and a
 * missing one is a MissingPackageError that names what to install.
 */

/** An optional package a feature needs is not installed. */
export class MissingPackageError extends Error {
  override readonly name = 'MissingPackageError';
  readonly code = 'missing-package';
  constructor(
    /** What needs it, e.g. `the Postgres source`. */
    readonly feature: string,
    readonly packages: readonly string[],
  ) {
    super(`${feature} needs the optional package${packages.length === 1 ? '' : 's'} ${packages.join(' and ')}, not installed here: npm install ${packages.join(' ')}`);
  }
}

/**
 * `load` is the feature's own `() => import('<name>')` (typed at its call site); a module-not-found
 * error for one of `packages` becomes a MissingPackageError naming all of them.
 */
export async function importOptional<T>(feature: string, packages: readonly string[], load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code;
    const message = error instanceof Error ? error.message : '';
    if (code === 'ERR_MODULE_NOT_FOUND' && packages.some((name) => message.includes(`'${name}'`))) throw new MissingPackageError(feature, packages);
    throw error;
  }
}
