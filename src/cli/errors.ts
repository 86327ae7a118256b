import { CommanderError } from 'commander';
import type { ShapeRuntimeError } from '../runtime/index.ts';
import { MissingPackageError } from '../optional-peers.ts';
import { StorageError } from '../storage/storage.ts';

/**
 * Exit codes: 0 success, 1 the command could not be carried out, 2 the
 * arguments are unusable, 3 `doctor` found that restore would remove shapes,
 * 4 `doctor` found row-store tables that lost records (and nothing to remove).
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  wouldRemove: 3,
  recordsLost: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure the CLI reports itself: one line, a code for `--json`, an exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode = ExitCode.failure,
  ) {
    super(message);
  }
}

/** What the user sees when a command fails (`shape-actors: <message>` on stderr). */
export interface CliFailure {
  readonly exitCode: ExitCode;
  readonly code: string;
  /** One line, no stack. */
  readonly message: string;
  /** True when the failure is a bug rather than bad input: worth a stack trace at `--log-level debug`. */
  readonly unexpected: boolean;
}

/**
 * Maps anything a command can throw to a failure. Bad input (arguments, the
 * data dir, a refused request) is expected and gets a clear message; anything
 * else is reported as an internal error, still on one line.
 */
export function describeFailure(error: unknown): CliFailure {
  if (error instanceof CliError) return failure(error.exitCode, error.code, error.message);
  if (error instanceof CommanderError) return failure(ExitCode.usage, 'usage', error.message.replace(/^error:\s*/, ''));
  if (error instanceof StorageError) {
    const code = error.code === 'not-found' ? 'data-dir-not-found' : `storage-${error.code}`;
    return failure(ExitCode.failure, code, `${error.handle ? `shape ${error.handle}: ` : ''}${error.reason}: ${error.file}`);
  }
  if (isShapeRuntimeError(error)) return failure(ExitCode.failure, error.code, error.message);
  if (error instanceof MissingPackageError) return failure(ExitCode.failure, error.code, error.message);
  if (isErrnoError(error)) return failure(ExitCode.failure, `io-${error.code.toLowerCase()}`, error.message);
  const message = error instanceof Error ? error.message : String(error);
  return { ...failure(ExitCode.failure, 'internal', `internal error: ${message}`), unexpected: true };
}

function failure(exitCode: ExitCode, code: string, message: string): CliFailure {
  return { exitCode, code, message: oneLine(message), unexpected: false };
}

/** Collapses whitespace runs (newlines included) so a message always fits one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function isErrnoError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * A request the runtime refused. Recognised by name rather than `instanceof`
 * so this module does not load the runtime (see open-runtime.ts).
 */
export function isShapeRuntimeError(error: unknown): error is ShapeRuntimeError {
  return error instanceof Error && error.name === 'ShapeRuntimeError' && typeof (error as { code?: unknown }).code === 'string';
}
