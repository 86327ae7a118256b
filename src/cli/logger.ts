import { createStderrLogger, type LogLevel, type RuntimeLogger } from '../logging/runtime-logger.ts';

/**
 * The CLI's logger: pino JSON lines on stderr. A request the runtime refuses
 * (it logs those at warn, with `requestId` and `code`) is the command's own
 * failure, which the CLI already prints as its one-line error: logging it
 * too would put a second line on stderr, so it is demoted to info.
 * Shape handles are fields (`handle`, `cause`), never only in the message,
 * so `--log-level info 2> log.jsonl` can be filtered by shape.
 */
export function createCliLogger(level: LogLevel, beforeLine: () => void = () => {}): RuntimeLogger {
  const logger = createStderrLogger(level);
  // `beforeLine` takes the progress line off the screen, so a log line never lands in the middle of it.
  const threshold = RANK[level];
  const at = (rank: number) => {
    if (rank >= threshold) beforeLine();
  };
  return {
    debug: (fields, message) => (at(RANK.debug), logger.debug(fields, message)),
    info: (fields, message) => (at(RANK.info), logger.info(fields, message)),
    warn: (fields, message) =>
      isRefusedRequest(fields) ? (at(RANK.info), logger.info(fields, message)) : (at(RANK.warn), logger.warn(fields, message)),
    error: (fields, message) => (at(RANK.error), logger.error(fields, message)),
  };
}

const RANK: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };

function isRefusedRequest(fields: object): boolean {
  return 'requestId' in fields && 'code' in fields;
}
