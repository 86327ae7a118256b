import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';
import type { InspectionEvent, Observer } from 'xstate';
import { importOptional } from '../optional-peers.ts';

/**
 * The Stately inspector, live, for a process on this machine: a small HTTP +
 * WebSocket relay on loopback, and `@statelyai/inspect`'s WebSocket inspector
 * feeding it. Open `url` in a browser: the page embeds the Stately inspector
 * UI and streams every inspection event to it (actors by id: the restore
 * machine `shapeRuntime`, each `shape:<handle>` and `materializer:<handle>`).
 *
 * Why not `createInspectorServer` from `@statelyai/inspect/server`: that one
 * listens on every interface (the events carry row data), cannot tell us the
 * port it got, keeps only the last 200 events for a viewer that connects late,
 * and its `stop()` leaves connected viewers open, which keeps a finished CLI
 * process alive. This relay serves the same bridge page and fixes those four.
 */
export interface LiveInspector {
  /** The page to open in a browser. */
  readonly url: string;
  /** Where the inspector (the event source) and viewers connect. */
  readonly webSocketUrl: string;
  /** Pass as `inspect` to the runtime (or any `createActor`). */
  readonly inspect: Observer<InspectionEvent>;
  /** Viewers connected now. */
  viewers(): number;
  /** Resolves when a viewer is connected, or after `timeoutMs` (false then). */
  waitForViewer(timeoutMs: number): Promise<boolean>;
  /**
   * Sends every event still queued, closes the inspector's socket (it would
   * otherwise reconnect forever), then the viewers' (after they got all),
   * then the server.
   */
  stop(): Promise<void>;
}

export interface LiveInspectorOptions {
  /** TCP port; 0 (default) takes a free one. */
  readonly port?: number;
  /** Interface to listen on (default 127.0.0.1: events carry row data). */
  readonly host?: string;
  /** The inspector UI the page embeds. */
  readonly inspectorUiUrl?: string;
  /** Events kept for viewers that connect late (default 50,000; the oldest go first). */
  readonly replayLimit?: number;
}

/** The inspector connects on this path; everything else is a viewer. */
const SOURCE_PATH = '/source';

/** The optional packages the live inspector needs (optional peer dependencies), loaded when it starts. */
export const INSPECTOR_PACKAGES = ['@statelyai/inspect', 'ws'] as const;

export async function startLiveInspector(options: LiveInspectorOptions = {}): Promise<LiveInspector> {
  const load = <T>(load: () => Promise<T>) => importOptional('the live inspector', INSPECTOR_PACKAGES, load);
  const [{ createWebSocketInspector }, { WebSocketServer }] = await Promise.all([load(() => import('@statelyai/inspect')), load(() => import('ws'))]);
  const host = options.host ?? '127.0.0.1';
  const replayLimit = options.replayLimit ?? 50_000;
  const uiUrl = options.inspectorUiUrl ?? 'https://stately.ai/inspect';
  let port = 0;
  const http: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(bridgePage(`ws://${hostForUrl(host)}:${port}`, uiUrl));
  });
  const wss = new WebSocketServer({ server: http });
  const replay: string[] = [];
  const viewers = new Set<WebSocket>();
  const viewerWaiters = new Set<() => void>();
  let sourceClosed: (() => void) | null = null;
  const sourceDone = new Promise<void>((resolve) => (sourceClosed = resolve));

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    if (request.url === SOURCE_PATH) {
      socket.on('message', (data) => {
        const message = data.toString();
        replay.push(message);
        if (replay.length > replayLimit) replay.shift();
        for (const viewer of viewers) if (viewer.readyState === viewer.OPEN) viewer.send(message);
      });
      socket.on('close', () => sourceClosed?.());
      return;
    }
    for (const message of replay) socket.send(message);
    viewers.add(socket);
    socket.on('close', () => viewers.delete(socket));
    socket.on('error', () => viewers.delete(socket));
    for (const wake of viewerWaiters) wake();
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  port = (http.address() as AddressInfo).port;
  const base = `${hostForUrl(host)}:${port}`;

  const inspector = createWebSocketInspector({ url: `ws://${base}${SOURCE_PATH}`, maxDeferredEvents: replayLimit });
  const adapter = inspector.adapter as unknown as { status: string; ws?: WebSocket };
  await until(() => adapter.status === 'open', 5_000, 'the inspector did not connect to its relay');

  let stopped = false;
  return {
    url: `http://${base}`,
    webSocketUrl: `ws://${base}`,
    inspect: inspector.inspect,
    viewers: () => viewers.size,
    async waitForViewer(timeoutMs) {
      if (viewers.size > 0) return true;
      return new Promise<boolean>((resolve) => {
        const done = (seen: boolean) => {
          clearTimeout(timer);
          viewerWaiters.delete(wake);
          resolve(seen);
        };
        const wake = () => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        viewerWaiters.add(wake);
      });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // The inspector converts each event on a later tick (setTimeout 0): let those run, then let its socket drain.
      await tick();
      await tick();
      await until(() => (adapter.ws?.bufferedAmount ?? 0) === 0, 5_000, null);
      inspector.stop(); // a close handshake: the relay sees every message before the close
      await Promise.race([sourceDone, delay(2_000)]);
      // Viewers get everything queued, then a normal close; one that does not answer is cut off.
      await Promise.all(
        [...viewers].map(
          (viewer) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => {
                viewer.terminate();
                resolve();
              }, 2_000);
              viewer.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              viewer.close(1000, 'the inspected process is done');
            }),
        ),
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function until(condition: () => boolean, timeoutMs: number, failure: string | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      if (failure) throw new Error(failure);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The page a browser opens: the Stately inspector UI in a frame, fed by this
 * relay's WebSocket (the same bridge `@statelyai/inspect/server` serves).
 */
function bridgePage(webSocketUrl: string, uiUrl: string): string {
  return `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>shape-actors: Stately inspector</title>
  <style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style>
</head>
<body>
  <iframe id="inspector" src="${uiUrl}"></iframe>
  <script>
    const iframe = document.getElementById('inspector');
    const buffer = [];
    let connected = false;
    window.addEventListener('message', (e) => {
      if (e.data && e.data.type === '@statelyai.connected') {
        connected = true;
        buffer.forEach((event) => iframe.contentWindow.postMessage(event, '*'));
        buffer.length = 0;
      }
    });
    const ws = new WebSocket(${JSON.stringify(webSocketUrl)});
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (connected) iframe.contentWindow.postMessage(data, '*');
      else buffer.push(data);
    };
  </script>
</body>
</html>`;
}
