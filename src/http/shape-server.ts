import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createShapeHandler, type ShapeHandler, type ShapeHandlerOptions } from './shape-handler.ts';

export interface ShapeServerOptions extends ShapeHandlerOptions {
  /** Default 127.0.0.1 (loopback): serve other hosts only by saying so. */
  readonly host?: string;
  /** 0: a free port. */
  readonly port: number;
}

export interface ShapeServer {
  readonly server: Server;
  readonly handler: ShapeHandler;
  readonly host: string;
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  /** Ends held live requests (503, retry shortly), stops listening, closes idle connections. */
  close(): Promise<void>;
}

/** The shape handler in a `node:http` server of its own (what `serve --http-port` runs). */
export async function startShapeServer(options: ShapeServerOptions): Promise<ShapeServer> {
  const handler = createShapeHandler(options);
  const server = createServer(handler);
  // Long polls hold requests for up to the long-poll timeout: keep connections that long.
  server.keepAliveTimeout = Math.max(server.keepAliveTimeout, 65_000);
  server.headersTimeout = Math.max(server.headersTimeout, 66_000);
  server.requestTimeout = 0;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | null = null;
  return {
    server,
    handler,
    host,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close() {
      closed ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await handler.close();
        server.closeIdleConnections();
        // Every request has its answer now; a connection still open a moment later is cut.
        const timer = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, 1_000);
        await stopped;
        clearTimeout(timer);
      })();
      return closed;
    },
  };
}
