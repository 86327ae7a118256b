import { createStderrLogger, type LogLevel, type RuntimeLogger } from '../logging/runtime-logger.ts';

/**
 * The CLI's logger: pino JSON lines on stderr. A request the runtime refuses
 * (it logs those at warn, with `requestId` and `code`) is the command's own
 * failure, which the CLI already prints as its one-line error: logging it
 * too would put a second line on stderr, so it is demoted to info.
 */
export function createCliLogger(level: LogLevel): RuntimeLogger {
  const logger = createStderrLogger(level);
  return {
    debug: (fields, message) => logger.debug(fields, message),
    info: (fields, message) => logger.info(fields, message),
    warn: (fields, message) => (isRefusedRequest(fields) ? logger.info(fields, message) : logger.warn(fields, message)),
    error: (fields, message) => logger.error(fields, message),
  };
}

function isRefusedRequest(fields: object): boolean {
  return 'requestId' in fields && 'code' in fields;
}
