import { stat } from 'node:fs/promises';

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

export function errnoText(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const e = error as NodeJS.ErrnoException;
    return e.code ? `${e.code}: ${e.message}` : e.message;
  }
  return String(error);
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
