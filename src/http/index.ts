/**
 * `shape-actors/http`: Electric's HTTP shape protocol over a runtime: a request handler a host
 * mounts on its own `node:http` server, or a server of its own (what `serve --http-port` runs).
 * Also exported from `shape-actors`.
 */
export { createShapeHandler, type ShapeHandler, type ShapeHandlerOptions } from './shape-handler.ts';
export { startShapeServer, type ShapeServer, type ShapeServerOptions } from './shape-server.ts';
