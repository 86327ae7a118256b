import { pino } from 'pino';

/** The logging the runtime does: structured fields first, message second (pino's signature). */
export interface RuntimeLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const silentLogger: RuntimeLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** JSON lines on stderr (stdout stays for the command's own output). */
export function createStderrLogger(level: LogLevel = 'info'): RuntimeLogger {
  return pino({ level, base: { app: 'shape-actors' } }, pino.destination({ fd: 2, sync: true }));
}
