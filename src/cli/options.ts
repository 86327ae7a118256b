import { InvalidArgumentError, Option, type Command, type OptionValues } from 'commander';
import type { RestorePolicy } from '../graph/restore-plan.ts';
import type { LogLevel } from '../logging/runtime-logger.ts';
import { isHandle } from '../shapes/handle.ts';
import { parseTableName, printTableName } from '../shapes/identifiers.ts';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
export const POLICIES: readonly RestorePolicy[] = ['validate', 'dropDependent'];

/** Options shared by commands; each command says which of them it takes. */
export interface CommonOptions {
  readonly dataDir: string;
  readonly json: boolean;
  readonly logLevel: LogLevel;
  readonly policy: RestorePolicy;
  /** `--inspect [port]`: serve the Stately inspector on this port (0: any free one); null: off. */
  readonly inspect: number | null;
  /** `--inspect-wait <seconds>`: how long to wait for a viewer before the command runs (0: do not wait). */
  readonly inspectWait: number;
  /** `--trace FILE`: write the inspection events there as JSON when the command ends; null: off. */
  readonly trace: string | null;
  /** `--force-unlock`: take over a lock another host wrote and stopped refreshing. */
  readonly forceUnlock: boolean;
}
export type CommonOptionName = keyof CommonOptions;

/**
 * How each common option is declared. One table, so a new shared flag
 * (`--inspect`, `--trace FILE`) is added here and in `runtimeOptions()` only.
 */
const COMMON_OPTIONS: { readonly [K in CommonOptionName]: () => Option } = {
  dataDir: () => new Option('--data-dir <dir>', 'the data dir (shapes/ and backup/ live here)').argParser(parsePath).makeOptionMandatory(),
  json: () => new Option('--json', 'print exactly one JSON document on stdout'),
  logLevel: () =>
    new Option('--log-level <level>', 'log level for the pino JSON logs on stderr')
      .choices(LOG_LEVELS)
      .default('warn'),
  policy: () =>
    new Option('--policy <policy>', 'restore policy: validate keeps every shape whose dependencies are intact, dropDependent drops every subquery shape')
      .choices(POLICIES)
      .default('validate'),
  inspect: () =>
    new Option('--inspect [port]', 'serve the Stately inspector on 127.0.0.1 (any free port unless given) and print the address to open')
      .argParser(parsePort),
  inspectWait: () =>
    new Option('--inspect-wait <seconds>', 'with --inspect: wait this long for a viewer to connect before running (0: do not wait)')
      .argParser(parseSeconds)
      .default(DEFAULT_INSPECT_WAIT_SECONDS),
  trace: () => new Option('--trace <file>', 'write every inspection event (actors, events, snapshots) to FILE as JSON when the command ends, even if it fails').argParser(parsePath),
  forceUnlock: () =>
    new Option('--force-unlock', 'take over the data dir lock when another host wrote it and has not refreshed it for a minute (only if nothing there uses the data dir)'),
};

/** Long enough to open the printed address in a browser. */
export const DEFAULT_INSPECT_WAIT_SECONDS = 60;

const DEFAULTS: Omit<CommonOptions, 'dataDir'> = { json: false, logLevel: 'warn', policy: 'validate', inspect: null, inspectWait: DEFAULT_INSPECT_WAIT_SECONDS, trace: null, forceUnlock: false };

export function addCommonOptions(command: Command, names: readonly CommonOptionName[]): Command {
  for (const name of names) command.addOption(COMMON_OPTIONS[name]());
  return command;
}

/** Typed access to what commander parsed (its own type is `Record<string, any>`). */
export class OptionReader {
  constructor(private readonly values: OptionValues) {}

  string(name: string): string {
    const value = this.optionalString(name);
    if (value === undefined) throw new InvalidArgumentError(`option ${flagName(name)} is required`);
    return value;
  }

  optionalString(name: string): string | undefined {
    const value: unknown = this.values[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new InvalidArgumentError(`option ${flagName(name)} takes a value`);
    return value;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  optionalList(name: string): readonly string[] | undefined {
    const value: unknown = this.values[name];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) throw new InvalidArgumentError(`option ${flagName(name)} takes a list`);
    return value;
  }

  /** A `table=columns` option collected by parseKeyColumns. */
  record(name: string): Readonly<Record<string, readonly string[]>> {
    const value: unknown = this.values[name];
    if (value === undefined) return {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(`option ${flagName(name)} takes table=columns`);
    return value as Record<string, readonly string[]>;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.optionalString(name);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`option ${flagName(name)} must be one of ${allowed.join(', ')}`);
    return value as T;
  }

  common(names: readonly CommonOptionName[]): CommonOptions {
    return {
      dataDir: names.includes('dataDir') ? this.string('dataDir') : '',
      json: this.flag('json'),
      logLevel: this.oneOf('logLevel', LOG_LEVELS) ?? DEFAULTS.logLevel,
      policy: this.oneOf('policy', POLICIES) ?? DEFAULTS.policy,
      inspect: names.includes('inspect') ? this.port('inspect') : null,
      inspectWait: this.optionalNumber('inspectWait') ?? DEFAULTS.inspectWait,
      trace: names.includes('trace') ? (this.optionalString('trace') ?? null) : null,
      forceUnlock: this.flag('forceUnlock'),
    };
  }

  /** `--inspect` alone is `true` (any free port), `--inspect 9000` the port. */
  private port(name: string): number | null {
    const value: unknown = this.values[name];
    if (value === undefined || value === false) return null;
    if (value === true) return 0;
    if (typeof value === 'number') return value;
    throw new InvalidArgumentError(`option ${flagName(name)} takes a port number`);
  }

  optionalNumber(name: string): number | undefined {
    const value: unknown = this.values[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number') throw new InvalidArgumentError(`option ${flagName(name)} takes a number`);
    return value;
  }
}

function flagName(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

// ---------------------------------------------------------------- value parsers (commander argParser)

/**
 * `a,b` -> `['a', 'b']`. Commas inside double quotes belong to the name
 * (`"a,b",c` is two columns); empty names are refused.
 */
export function parseColumnList(text: string): string[] {
  const columns: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      columns.push(current.trim());
      current = '';
    } else {
      current += char;
    }
  }
  if (quoted) throw new InvalidArgumentError(`unbalanced double quote in column list ${JSON.stringify(text)}`);
  columns.push(current.trim());
  if (columns.some((c) => c.length === 0)) throw new InvalidArgumentError(`empty column name in ${JSON.stringify(text)} (expected e.g. id,name)`);
  return columns;
}

/** A file or directory path: an empty one (`--data-dir ""`, an unset variable) names nothing, so it is refused. */
export function parsePath(text: string): string {
  if (text.trim() === '') throw new InvalidArgumentError('empty path (expected a file or directory)');
  return text;
}

/** A TCP port, 0 to 65535 (0: any free port). */
export function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new InvalidArgumentError(`not a port number: ${JSON.stringify(text)} (expected 0 to 65535)`);
  return Number(text);
}

/** A duration in seconds, 0 or more (fractions allowed). */
export function parseSeconds(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`not a number of seconds: ${JSON.stringify(text)}`);
  return value;
}

/** A handle is `<digits>-<digits>`; anything else cannot name a shape, so it is refused before restoring. */
export function parseHandle(text: string): string {
  if (!isHandle(text)) throw new InvalidArgumentError(`not a shape handle: ${JSON.stringify(text)} (expected <hash>-<micros>, e.g. 32220858-1765808264363524)`);
  return text;
}

/**
 * `public.m=user_id,org_id` (repeatable): a table's primary key columns. Table names are
 * normalized like shape tables (`m` is `public.m`).
 */
export function parseKeyColumns(text: string, previous: Readonly<Record<string, readonly string[]>>): Record<string, readonly string[]> {
  const eq = text.lastIndexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected table=columns, e.g. public.memberships=user_id,org_id (got ${JSON.stringify(text)})`);
  return { ...previous, [tableNameArgument(text.slice(0, eq))]: parseColumnList(text.slice(eq + 1)) };
}

/** A table name (repeatable), normalized like shape tables (`users` is `public.users`). */
export function parseTableNames(text: string, previous: readonly string[] = []): string[] {
  return [...previous, tableNameArgument(text)];
}

function tableNameArgument(text: string): string {
  try {
    return printTableName(parseTableName(text));
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}
