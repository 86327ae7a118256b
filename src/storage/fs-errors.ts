import { stat } from 'node:fs/promises';

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

/** An errno failure in words, once: `permission denied (EACCES)`, not the code, the message and the path again. */
export function errnoText(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const e = error as NodeJS.ErrnoException;
  if (!e.code) return e.message;
  // Node's message is `<CODE>: <what>, <syscall> '<path>'`.
  const what = /^[A-Z0-9_]+: ([^,]+)/.exec(e.message)?.[1];
  return what ? `${what} (${e.code})` : `${e.code}: ${e.message}`;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return false;
    throw error;
  }
}
