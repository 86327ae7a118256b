/**
 * Scenario 4, serving over HTTP (issue 11 item 7), on the file store, loopback:
 * - initial sync of an R-row shape (GET -1, then each chunk until up-to-date) against the floor of
 *   serialising the same rows as Electric messages (JSON.stringify of the same body);
 * - commit-to-client latency (applyTransaction called -> the client has the whole response): one
 *   change with N live clients on one shape (fan-out: every client gets it), and one change to one
 *   of N shapes each followed by one client (`id = k`: only its client gets it), against one live
 *   client beside N idle sockets;
 * - memory per connected live client: the server's heap (after GC) with N live requests held,
 *   less with N idle sockets, per client.
 * The clients run in a process of their own (bench/lib/serving-clients.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startShapeServer, type ShapeServer } from '../../src/http/shape-server.ts';
import { createShapeRuntime, type ShapeRuntime } from '../../src/runtime/index.ts';
import { formatLogOffset } from '../../src/shapes/log-offset.ts';
import type { ClientCommand, Received } from '../lib/serving-clients.ts';
import { BENCH_DIR, check, type Column, type TargetCheck } from '../lib/report.ts';
import { heapAfterGc, median, round, Stopwatch, type Timing } from '../lib/stats.ts';

export type ServingCaseArgs = { readonly kind: 'initial-sync'; readonly rows: number; readonly runs: number } | { readonly kind: 'live'; readonly clients: number; readonly changes: number; readonly spread: boolean };

export interface InitialSyncResult {
  readonly kind: 'initial-sync';
  readonly rows: number;
  /** serve: the shape's first client (its snapshot read and encoded); warm: a second client (the encoded chunks kept). */
  readonly runs: readonly { readonly serve: Timing; readonly warm: Timing; readonly floor: Timing; readonly bytes: number; readonly floorBytes: number; readonly requests: number }[];
}

export interface LatencyStats {
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
}

export interface LiveResult {
  readonly kind: 'live';
  readonly clients: number;
  /** applyTransaction called -> the batch durable (its fsyncs), over every change measured. */
  readonly commit: LatencyStats;
  readonly baseline: LatencyStats;
  /** Received by the clients (all in one process: the later ones wait for it to handle the earlier); `written`: handed to the kernel by the server. */
  readonly fanout: LatencyStats & { readonly lastP50: number; readonly written: LatencyStats };
  /** A bare node:http server answering as many held long polls with the same body. */
  readonly floor: { readonly received: LatencyStats; readonly written: LatencyStats };
  readonly spread: LatencyStats | null;
  readonly heapIdle: number;
  readonly heapLive: number;
  readonly rssIdle: number;
  readonly rssLive: number;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const epochMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withService<T>(run: (runtime: ShapeRuntime, dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'shape-actors-bench-serving-'));
  const runtime = await createShapeRuntime({ dataDir: dir });
  try {
    return await run(runtime, dir);
  } finally {
    await runtime.shutdown();
    await rm(dir, { recursive: true, force: true });
  }
}

const row = (id: number) => ({ id, title: `item number ${id}`, n: id % 97, done: id % 2 === 0 });

export async function servingCase(args: ServingCaseArgs): Promise<InitialSyncResult | LiveResult> {
  return args.kind === 'initial-sync' ? initialSync(args) : live(args);
}

async function initialSync(args: Extract<ServingCaseArgs, { kind: 'initial-sync' }>): Promise<InitialSyncResult> {
  return withService(async (runtime) => {
    for (let start = 1, xid = 1; start <= args.rows; start += 1_000, xid++) {
      const changes = [];
      for (let id = start; id < start + 1_000 && id <= args.rows; id++) changes.push({ op: 'insert' as const, table: 'public.items', row: row(id) });
      await runtime.applyTransaction({ xid, changes });
    }
    const server = await startShapeServer({ runtime, port: 0 });
    const runs: InitialSyncResult['runs'][number][] = [];
    const clients = new Clients();
    try {
      for (let r = 0; r < args.runs + 1; r++) {
        // A new shape each run (every row: id > -r), so the first sync reads and encodes its snapshot (cold); a second client of it gets the chunks encoded once (warm).
        const where = `id > ${-r}`;
        await runtime.add({ table: 'public.items', where });
        const path = `/v1/shape?table=items&where=${encodeURIComponent(where)}`;
        heapAfterGc();
        // The client in its own process: the CPU measured is the server's alone.
        const watch = new Stopwatch();
        const { bytes = 0, requests = 0 } = await clients.send({ cmd: 'sync', url: server.url, path });
        const serve = watch.stop();
        heapAfterGc();
        const warmWatch = new Stopwatch();
        await clients.send({ cmd: 'sync', url: server.url, path });
        const warm = warmWatch.stop();
        heapAfterGc();
        const floorWatch = new Stopwatch();
        // The floor: the same rows, as Electric messages (values as text), serialised once.
        const messages = [];
        for (let id = 1; id <= args.rows; id++) {
          const v = row(id);
          messages.push({ key: `"public"."items"/"${id}"`, value: { id: String(v.id), title: v.title, n: String(v.n), done: v.done ? 't' : 'f' }, headers: { operation: 'insert', relation: ['public', 'items'] } });
        }
        const floorBytes = JSON.stringify(messages).length;
        const floor = floorWatch.stop();
        if (r > 0) runs.push({ serve, warm, floor, bytes, floorBytes, requests }); // the first run warms up
      }
    } finally {
      await clients.close();
      await server.close();
    }
    return { kind: 'initial-sync', rows: args.rows, runs };
  });
}

class Clients {
  readonly #child: ChildProcess;
  readonly #waiting: ((message: { ok: boolean; received?: Received[]; error?: string; bytes?: number; requests?: number }) => void)[] = [];
  constructor() {
    this.#child = fork(join(BENCH_DIR, 'lib', 'serving-clients.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (message: { ok: boolean }) => this.#waiting.shift()?.(message));
  }
  send(command: ClientCommand): Promise<{ ok: boolean; received?: Received[]; error?: string; bytes?: number; requests?: number }> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#child.send(command);
    });
  }
  async collect(): Promise<Received[]> {
    return (await this.send({ cmd: 'collect' })).received ?? [];
  }
  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await this.send({ cmd: 'close' });
    await exited;
  }
}

function stats(latencies: readonly number[]): LatencyStats {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: round(at(0.5), 2), p99: round(at(0.99), 2), samples: sorted.length };
}

async function until(what: string, condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`serving bench: timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Applies one change, then waits until `expect` clients received it. Latencies of each client
 * from the moment the batch was durable (BATCH.COMMITTED: the journal commit written), and the
 * time from the call to that moment (the fsyncs of a batch).
 */
async function measureChange(runtime: ShapeRuntime, clients: Clients, xid: number, id: number, expect: number, written: number[]): Promise<{ latencies: number[]; written: number[]; commitMs: number }> {
  let committed = 0;
  const subscription = runtime.actor.on('BATCH.COMMITTED', () => (committed ||= epochMs()));
  written.length = 0;
  const t0 = epochMs();
  await runtime.applyTransaction({ xid, changes: [{ op: 'update', table: 'public.items', row: { id, n: xid } }] });
  subscription.unsubscribe();
  const got: Received[] = [];
  for (const deadline = Date.now() + 60_000; got.length < expect; ) {
    if (Date.now() > deadline) throw new Error(`serving bench: ${got.length} of ${expect} clients got change ${xid}`);
    await sleep(expect > 100 ? 20 : 2);
    got.push(...(await clients.collect()));
  }
  return { latencies: got.map((r) => r.at - committed), written: written.map((at) => at - committed), commitMs: committed - t0 };
}

/**
 * The floor of a fan-out: a bare node:http server holding N long polls and answering all of
 * them at once with the same body our server sends for one change (the same headers, no
 * runtime, no storage). Latency from the moment it starts answering.
 */
async function bareFanout(n: number, changes: number): Promise<{ received: LatencyStats; written: LatencyStats }> {
  const held: ServerResponse[] = [];
  const server = http.createServer((_req, res) => void held.push(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const clients = new Clients();
  const received: number[] = [];
  const written: number[] = [];
  try {
    await clients.send({ cmd: 'live', port, clients: Array.from({ length: n }, () => ({ path: '/v1/shape?table=items', handle: '1-1', offset: '0_inf' })) });
    await until('the floor\'s long polls', () => held.length >= n);
    for (let c = 1; c <= changes; c++) {
      const body = JSON.stringify([
        { key: '"public"."items"/"2"', value: { id: '2', n: String(c) }, headers: { operation: 'update', relation: ['public', 'items'], lsn: String(c), op_position: 0, txids: [c], last: true } },
        { headers: { control: 'up-to-date', global_last_seen_lsn: String(c) } },
      ]);
      const t0 = epochMs();
      for (const res of held.splice(0)) {
        res.once('finish', () => written.push(epochMs() - t0));
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'electric-handle': '1-1', 'electric-offset': `${c}_0`, 'electric-cursor': String(c), 'electric-has-data': 'true', 'electric-up-to-date': '', 'cache-control': 'public, max-age=5, stale-while-revalidate=5', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      }
      let got = 0;
      while (got < n) {
        await sleep(n > 100 ? 20 : 2);
        for (const r of await clients.collect()) {
          received.push(r.at - t0);
          got++;
        }
      }
      await until('the floor\'s long polls again', () => held.length >= n);
    }
  } finally {
    await clients.close();
    for (const res of held.splice(0)) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return { received: stats(received), written: stats(written) };
}

async function live(args: Extract<ServingCaseArgs, { kind: 'live' }>): Promise<LiveResult> {
  const n = args.clients;
  const floor = await bareFanout(n, args.changes);
  log(`  serving live ${n}: bare node:http fan-out floor p50 ${floor.received.p50} ms, p99 ${floor.received.p99} ms; written p50 ${floor.written.p50} ms, p99 ${floor.written.p99} ms`);
  return withService(async (runtime) => {
    const changes = [];
    for (let id = 1; id <= Math.max(n, 10); id++) changes.push({ op: 'insert' as const, table: 'public.items', row: row(id) });
    await runtime.applyTransaction({ xid: 1, changes });
    const all = await runtime.add({ table: 'public.items' });
    const server: ShapeServer = await startShapeServer({ runtime, port: 0, longPollMs: 600_000, maxConcurrent: { existing: n + 100, initial: n + 100 } });
    // When the server handed each live response with data to the kernel: the latency without the clients' own work.
    const written: number[] = [];
    server.server.on('request', (_req, res) => res.once('finish', () => res.getHeader('electric-has-data') === 'true' && res.getHeader('electric-cursor') !== undefined && written.push(epochMs())));
    let xid = 1;
    try {
      const follower = async (handle: string, path: string) => ({ path, handle, offset: formatLogOffset(await runtime.reads.lastOffset(handle)) });
      const waiting = (count: number) => until(`${count} live requests to be held`, () => server.handler.inFlight.waiting >= count);

      // Baseline: N idle sockets, one live client.
      let clients = new Clients();
      await clients.send({ cmd: 'idle', port: server.port, n });
      await clients.send({ cmd: 'live', port: server.port, clients: [await follower(all.handle, '/v1/shape?table=items')] });
      await waiting(1);
      const heapIdle = heapAfterGc();
      const rssIdle = process.memoryUsage().rss;
      const baseline: number[] = [];
      const commits: number[] = [];
      for (let c = 0; c < args.changes; c++) {
        const { latencies, commitMs } = await measureChange(runtime, clients, ++xid, 1, 1, written);
        baseline.push(...latencies);
        commits.push(commitMs);
        await waiting(1);
      }
      await clients.close();
      await until('the idle sockets to close', () => server.handler.inFlight.waiting === 0);
      log(`  serving live ${n}: baseline p50 ${stats(baseline).p50} ms`);

      // Fan-out: N live clients on one shape; every change reaches all of them.
      clients = new Clients();
      const one = await follower(all.handle, '/v1/shape?table=items');
      await clients.send({ cmd: 'live', port: server.port, clients: Array.from({ length: n }, () => one) });
      await waiting(n);
      const heapLive = heapAfterGc();
      const rssLive = process.memoryUsage().rss;
      const fanout: number[] = [];
      const fanoutWritten: number[] = [];
      const lasts: number[] = [];
      for (let c = 0; c < args.changes; c++) {
        const measured = await measureChange(runtime, clients, ++xid, 2, n, written);
        const latencies = measured.latencies;
        fanout.push(...latencies);
        fanoutWritten.push(...measured.written);
        commits.push(measured.commitMs);
        lasts.push(Math.max(...latencies));
        await waiting(n);
      }
      await clients.close();
      await until('the fan-out clients to close', () => server.handler.inFlight.waiting === 0);
      log(`  serving live ${n}: fan-out p50 ${stats(fanout).p50} ms, p99 ${stats(fanout).p99} ms; written by the server p50 ${stats(fanoutWritten).p50} ms, p99 ${stats(fanoutWritten).p99} ms`);

      // Spread: N shapes `id = k`, one client each; a change to row k reaches client k only.
      let spread: LatencyStats | null = null;
      if (args.spread) {
        const followers = [];
        for (let k = 1; k <= n; k++) followers.push(await follower((await runtime.add({ table: 'public.items', where: `id = ${k}` })).handle, `/v1/shape?table=items&where=${encodeURIComponent(`id = ${k}`)}`));
        clients = new Clients();
        await clients.send({ cmd: 'live', port: server.port, clients: followers });
        await waiting(n);
        const latencies: number[] = [];
        for (let c = 0; c < args.changes; c++) {
          const measured = await measureChange(runtime, clients, ++xid, 1 + ((c * 7919) % n), 1, written);
          latencies.push(...measured.latencies);
          commits.push(measured.commitMs);
          await waiting(n);
        }
        await clients.close();
        spread = stats(latencies);
        log(`  serving live ${n}: spread p50 ${spread.p50} ms`);
      }
      return { kind: 'live', clients: n, commit: stats(commits), baseline: stats(baseline), fanout: { ...stats(fanout), lastP50: round(median(lasts), 2), written: stats(fanoutWritten) }, floor, spread, heapIdle, heapLive, rssIdle, rssLive };
    } finally {
      await server.close();
    }
  });
}

export const SERVING_DESCRIPTION = [
  'serving over HTTP on loopback (file store; clients in their own process). Initial sync: every chunk of an R-row shape until',
  'up-to-date (the server process\'s CPU), vs JSON.stringify of the same rows as Electric messages. Latency: the batch durable (BATCH.COMMITTED) -> response',
  'received by the client (the commit itself, applyTransaction called -> durable, is its own row),',
  'p50/p99 over clients and changes; baseline: one live client beside N idle sockets. Memory: server heap with N live requests',
  'held minus with N idle sockets, per client.',
].join('\n');

export const SERVING_COLUMNS: readonly Column[] = [
  { key: 'case', title: 'case' },
  { key: 'measured', title: 'measured' },
  { key: 'floor', title: 'floor / baseline' },
  { key: 'ratio', title: 'ratio' },
];

export function summarizeServing(results: readonly (InitialSyncResult | LiveResult)[]): { rows: Record<string, string | number | null>[]; checks: TargetCheck[] } {
  const rows: Record<string, string | number | null>[] = [];
  const checks: TargetCheck[] = [];
  for (const r of results) {
    if (r.kind === 'initial-sync') {
      const cpu = median(r.runs.map((x) => x.serve.cpuMs / x.floor.cpuMs));
      const wall = median(r.runs.map((x) => x.serve.wallMs / x.floor.wallMs));
      const serve = median(r.runs.map((x) => x.serve.wallMs));
      const mb = (r.runs[0]?.bytes ?? 0) / 1e6;
      const warm = median(r.runs.map((x) => x.warm.cpuMs / x.floor.cpuMs));
      rows.push({ case: `initial sync ${r.rows.toLocaleString('en-US')} rows, first client`, measured: `${round(serve, 0)} ms wall, ${round(median(r.runs.map((x) => x.serve.cpuMs)), 0)} ms server CPU, ${round(mb, 1)} MB in ${r.runs[0]?.requests} requests`, floor: `${round(median(r.runs.map((x) => x.floor.cpuMs)), 0)} ms CPU`, ratio: `${round(cpu, 2)}x CPU (${round(wall, 2)}x wall)` });
      rows.push({ case: `  a later client (chunks kept)`, measured: `${round(median(r.runs.map((x) => x.warm.wallMs)), 0)} ms wall, ${round(median(r.runs.map((x) => x.warm.cpuMs)), 0)} ms server CPU`, floor: null, ratio: `${round(warm, 2)}x CPU` });
      checks.push(check(`initial sync of ${r.rows.toLocaleString('en-US')} rows, first client, within 6x of serialising them`, `server / floor CPU = ${round(cpu, 2)}x`, cpu, 6, (v, l) => v <= l));
      checks.push(check(`the same for a later client (encoded chunks kept) within 1.5x`, `server / floor CPU = ${round(warm, 2)}x`, warm, 1.5, (v, l) => v <= l));
    } else {
      const n = r.clients.toLocaleString('en-US');
      rows.push({ case: `${n} live clients, one shape (fan-out)`, measured: `p50 ${r.fanout.p50} ms, p99 ${r.fanout.p99} ms (last client p50 ${r.fanout.lastP50} ms)`, floor: `p50 ${r.baseline.p50} ms, p99 ${r.baseline.p99} ms`, ratio: `${round(r.fanout.p99 / r.baseline.p99, 1)}x p99` });
      rows.push({ case: `  the same vs a bare node:http fan-out`, measured: `p50 ${r.fanout.p50} ms, p99 ${r.fanout.p99} ms`, floor: `p50 ${r.floor.received.p50} ms, p99 ${r.floor.received.p99} ms`, ratio: `${round(r.fanout.p99 / r.floor.received.p99, 1)}x p99` });
      rows.push({ case: `  written by the server (vs the bare one)`, measured: `p50 ${r.fanout.written.p50} ms, p99 ${r.fanout.written.p99} ms`, floor: `p50 ${r.floor.written.p50} ms, p99 ${r.floor.written.p99} ms`, ratio: `${round(r.fanout.written.p99 / r.floor.written.p99, 1)}x p99` });
      if (r.spread) rows.push({ case: `${n} live clients, ${n} shapes (id = k)`, measured: `p50 ${r.spread.p50} ms, p99 ${r.spread.p99} ms`, floor: `p50 ${r.baseline.p50} ms, p99 ${r.baseline.p99} ms`, ratio: `${round(r.spread.p50 / r.baseline.p50, 2)}x p50` });
      const perClient = (r.heapLive - r.heapIdle) / r.clients;
      rows.push({ case: `commit (call -> durable), ${n}`, measured: `p50 ${r.commit.p50} ms, p99 ${r.commit.p99} ms`, floor: null, ratio: null });
      rows.push({ case: `memory per live client (${n})`, measured: `${round(perClient / 1024, 1)} KiB heap, ${round((r.rssLive - r.rssIdle) / r.clients / 1024, 1)} KiB RSS`, floor: 'an idle socket', ratio: null });
      checks.push(check(`one change to ${n} live clients: p99 within 3x of a bare node:http server answering as many`, `p99 ${r.fanout.p99} ms vs ${r.floor.received.p99} ms`, r.fanout.p99 / r.floor.received.p99, 3, (v, l) => v <= l));
      if (r.spread) checks.push(check(`one change among ${n} shapes' clients: p50 within 2x of the baseline (flat in N)`, `p50 ${r.spread.p50} ms vs ${r.baseline.p50} ms`, r.spread.p50 / r.baseline.p50, 2, (v, l) => v <= l));
      checks.push(check(`memory per connected live client (${n}) under 16 KiB`, `${round(perClient / 1024, 1)} KiB`, perClient / 1024, 16, (v, l) => v <= l));
    }
  }
  return { rows, checks };
}
