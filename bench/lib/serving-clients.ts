/**
 * The serving benchmark's clients, in a process of their own (forked by bench/scenarios/serving.ts),
 * so the server's event loop is measured without theirs: N idle sockets, or N long-polling
 * clients speaking Electric's protocol (each re-polls from the offset it was given). Receive
 * times are epoch milliseconds from `performance.timeOrigin + performance.now()`, comparable
 * across processes on one machine.
 */
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export type ClientCommand =
  | { readonly cmd: 'idle'; readonly port: number; readonly n: number }
  | { readonly cmd: 'live'; readonly port: number; readonly clients: readonly { readonly path: string; readonly handle: string; readonly offset: string }[] }
  | { readonly cmd: 'sync'; readonly url: string; readonly path: string }
  | { readonly cmd: 'collect' }
  | { readonly cmd: 'close' };

export interface Received {
  readonly client: number;
  readonly at: number;
  readonly bytes: number;
}

const now = (): number => performance.timeOrigin + performance.now();
const sockets: net.Socket[] = [];
let agent: http.Agent | null = null;
let received: Received[] = [];
let closing = false;

function reply(message: unknown): void {
  process.send!(message);
}

function poll(index: number, path: string, handle: string, offset: string, cursor: string): void {
  if (closing) return;
  const request = http.get(
    { host: '127.0.0.1', port: currentPort, path: `${path}&handle=${handle}&offset=${offset}&live=true&cursor=${cursor}`, agent: agent! },
    (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () => {
        const hasData = response.headers['electric-has-data'] !== 'false';
        if (hasData) received.push({ client: index, at: now(), bytes });
        const next = String(response.headers['electric-offset'] ?? offset);
        poll(index, path, handle, next, String(response.headers['electric-cursor'] ?? cursor));
      });
    },
  );
  request.on('error', () => {
    if (!closing) setTimeout(() => poll(index, path, handle, offset, cursor), 100);
  });
}

let currentPort = 0;

process.on('message', (message: ClientCommand) => {
  switch (message.cmd) {
    case 'idle': {
      let open = 0;
      for (let i = 0; i < message.n; i++) {
        const socket = net.connect(message.port, '127.0.0.1', () => {
          if (++open === message.n) reply({ ok: true, open });
        });
        socket.on('error', (error) => reply({ ok: false, error: error.message }));
        sockets.push(socket);
      }
      if (message.n === 0) reply({ ok: true, open: 0 });
      break;
    }
    case 'live': {
      currentPort = message.port;
      agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: Infinity });
      message.clients.forEach((c, i) => poll(i, c.path, c.handle, c.offset, '0'));
      reply({ ok: true, clients: message.clients.length });
      break;
    }
    case 'sync': {
      // An initial sync: -1, then each chunk, until up-to-date (the body read whole, as a client does).
      void (async () => {
        let offset = '-1';
        let handle = '';
        let bytes = 0;
        let requests = 0;
        for (;;) {
          const response = await fetch(`${message.url}${message.path}&offset=${offset}${handle ? `&handle=${handle}` : ''}`);
          bytes += (await response.arrayBuffer()).byteLength;
          requests++;
          handle = response.headers.get('electric-handle')!;
          offset = response.headers.get('electric-offset')!;
          if (response.headers.has('electric-up-to-date')) break;
        }
        reply({ ok: true, bytes, requests });
      })();
      break;
    }
    case 'collect': {
      reply({ ok: true, received });
      received = [];
      break;
    }
    case 'close': {
      closing = true;
      for (const socket of sockets.splice(0)) socket.destroy();
      agent?.destroy();
      reply({ ok: true });
      setImmediate(() => process.exit(0));
      break;
    }
  }
});
