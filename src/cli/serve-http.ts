import { InvalidArgumentError, type Command } from 'commander';
import type { ShapeServer, ShapeServerOptions } from '../http/shape-server.ts';
import type { AddedShape, ShapeRuntime } from '../runtime/index.ts';
import type { CommandContext } from './command.ts';
import { CliError } from './errors.ts';
import { parsePort, type OptionReader } from './options.ts';

/** The environment variable `--secret` defaults to. */
export const SECRET_ENV = 'SHAPE_ACTORS_SECRET';

/** `serve`'s HTTP options: Electric's shape API on a port, loopback unless `--http-host` says otherwise. */
export function configureHttpOptions(command: Command): Command {
  return command
    .option('--http-port <port>', "serve the shapes over Electric's HTTP shape API on this port (0: a free one, printed)", parsePort)
    .option('--http-host <host>', 'address to listen on (default 127.0.0.1: this machine only)', '127.0.0.1')
    .option('--secret <secret>', `require ?secret=<secret> on /v1/shape (default $${SECRET_ENV})`, process.env[SECRET_ENV])
    .option('--allow-deletion', 'allow DELETE /v1/shape (removes the shape and its dependents)')
    .option('--long-poll <ms>', 'how long a live request is held when nothing is new (default 20000; keep it under the client\'s 45 s)', parseMilliseconds)
    .option('--max-requests <n>', 'requests for known shapes served at once (default 10000; past it: 503 + retry-after)', parseCount);
}

export interface HttpServing {
  readonly port: number | undefined;
  start(runtime: ShapeRuntime, add: (definition: Parameters<ShapeRuntime['add']>[0]) => Promise<AddedShape>, options: Pick<ShapeServerOptions, 'txids' | 'health'>): Promise<ShapeServer | null>;
}

export function httpServing(options: OptionReader, context: CommandContext): HttpServing {
  const port = options.optionalNumber('httpPort');
  const host = options.optionalString('httpHost') ?? '127.0.0.1';
  const secret = options.optionalString('secret');
  const longPollMs = options.optionalNumber('longPoll');
  const maxRequests = options.optionalNumber('maxRequests');
  return {
    port,
    async start(runtime, add, { txids, health }) {
      if (port === undefined) return null;
      const { startShapeServer } = await import('../http/shape-server.ts');
      const serverOptions: ShapeServerOptions = {
        runtime,
        add,
        port,
        host,
        txids,
        ...(health ? { health } : {}),
        logger: context.logger,
        ...(secret ? { secret } : {}),
        ...(options.flag('allowDeletion') ? { allowDeletion: true } : {}),
        ...(longPollMs !== undefined ? { longPollMs } : {}),
        ...(maxRequests !== undefined ? { maxConcurrent: { existing: maxRequests } } : {}),
      };
      let server: ShapeServer;
      try {
        server = await startShapeServer(serverOptions);
      } catch (error) {
        throw new CliError('http-listen', `cannot listen on ${host}:${port}: ${(error as Error).message}`);
      }
      context.notice(`serving shapes on ${server.url}/v1/shape${secret ? ' (secret required)' : ''}`);
      context.logger.info({ url: server.url, secret: secret !== undefined, deletion: options.flag('allowDeletion') }, 'serving shapes over HTTP');
      return server;
    },
  };
}

function parseMilliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 40_000) throw new InvalidArgumentError('must be a number of milliseconds from 0 to 40000');
  return n;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}
