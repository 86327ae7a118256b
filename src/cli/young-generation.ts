/**
 * The size of V8's young generation for a large service. Every change a shape takes writes into
 * that shape's objects, which live in the old generation; each scavenge of the young generation
 * then visits every old page written since the last one. With 100k shapes the pages written are
 * mostly distinct, so with Node's default semi-space (16 MiB on 64-bit) a scavenge at 100k shapes
 * took 10.3 ms against 3.3 ms at 1k for the same allocation (5.2 against 1.3 µs per change).
 * A larger semi-space runs a quarter as many scavenges: with 64 MiB the collector's share at 100k
 * was 1.6-2.2 µs per change against 4.5-6.0, and a whole change 30.8-31.1 µs against 36.5-46.1
 * (bench/scenarios/routing.ts, which runs eq both ways; README: Performance). The cost is memory: the young generation is three semi-spaces, 192 MiB at most instead of 48.
 * Node reads the flag only at start (`v8.setFlagsFromString` cannot change it later), so the
 * process is started with it: `node --max-semi-space-size=64` or
 * `NODE_OPTIONS=--max-semi-space-size=64`. Pure: it reads the flags it is handed.
 */

/** The semi-space, in MiB, the README and the benchmarks run a service with. */
export const SERVICE_SEMI_SPACE_MIB = 64;

/** From this many shapes on, `serve` says so when the process runs with a smaller semi-space. */
export const LARGE_SERVICE_SHAPES = 10_000;

/**
 * The semi-space size (MiB) the process was started with, from its own flags and then
 * `NODE_OPTIONS` (Node applies both; its own come last and win), or null: Node's default.
 * Spellings: `--max-semi-space-size=N`, `--max_semi_space_size=N`, and either with the value as
 * the next argument.
 */
export function semiSpaceMiB(execArgv: readonly string[], nodeOptions: string | undefined): number | null {
  return lastSemiSpace(execArgv) ?? lastSemiSpace(nodeOptions?.split(/\s+/).filter((part) => part !== '') ?? []);
}

function lastSemiSpace(args: readonly string[]): number | null {
  let found: number | null = null;
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = splitFlag(args[i]!);
    if (name.replaceAll('_', '-') !== '--max-semi-space-size') continue;
    const value = Number(inline ?? args[i + 1]);
    if (Number.isFinite(value) && value > 0) found = value;
  }
  return found;
}

function splitFlag(arg: string): [string, string | undefined] {
  const at = arg.indexOf('=');
  return at < 0 ? [arg, undefined] : [arg.slice(0, at), arg.slice(at + 1)];
}

/**
 * What `serve` tells the operator of a large service running with a smaller young generation
 * than the one recommended, or null when there is nothing to say.
 */
export function youngGenerationAdvice(shapes: number, configuredMiB: number | null): string | null {
  if (shapes < LARGE_SERVICE_SHAPES) return null;
  if (configuredMiB !== null && configuredMiB >= SERVICE_SEMI_SPACE_MIB) return null;
  const now = configuredMiB === null ? "Node's default semi-space (16 MiB)" : `--max-semi-space-size=${configuredMiB}`;
  return (
    `${shapes} shapes with ${now}: start node with --max-semi-space-size=${SERVICE_SEMI_SPACE_MIB} ` +
    `(or NODE_OPTIONS=--max-semi-space-size=${SERVICE_SEMI_SPACE_MIB}) for less collector time per change; ` +
    'the young generation then takes up to 192 MiB (README: Performance, "The young generation")'
  );
}
