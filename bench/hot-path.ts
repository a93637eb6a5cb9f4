import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { QuflxApp } from '../src/app.js';
import type { Candle } from '../src/core/candle.js';
import { TIMEFRAMES, timeframeSeconds } from '../src/core/timeframe.js';
import { PERSIST_BATCH_TICKS } from '../src/persist/persister.js';
import { validateTickBatch } from '../src/core/tick-validation.js';
import { CandleStore } from '../src/redis/candle-store.js';
import { measureBaselineAtRate } from './baseline.js';
import type { ClientCommand, ClientReport, WorkingPointResult } from './feed-and-subscriber.js';
import { measureIngest, type IngestRunResult } from './ingest.js';
import { waitForPersistBacklog } from './persist-backlog.js';
import { PrivateRedis, type RedisCpuSpan } from './private-redis.js';
import { progress } from './progress.js';
import { createSchema, dropSchema, startBenchApp, type BenchEnv } from './setup.js';
import { round } from './stats.js';
import type { TickFactory } from './tick-factory.js';

export interface HotPathOptions {
  env: BenchEnv;
  pairs: readonly string[];
  factory: TickFactory;
  bulkTicks: number;
  bulkBatch: number;
  bulkConcurrency: number;
  /** The working point: ticks/s over all pairs, one per ws message, for this long. */
  ratePerS: number;
  durationMs: number;
  /** CANDLE_CACHE_SIZE of the app (the default). */
  cacheSize: number;
}

/** The working point's goals with every cache warm (issue 11). */
const TARGET = { redisUsPerTick: 25, p99Ms: 10 };

/** One phase's cost: Redis CPU from INFO cpu, the ingest script's calls, QuFLX's own CPU. */
interface Cost {
  redisUsPerTick: number;
  /** Ticks per ingest script call (EVALSHA/EVAL). */
  ticksPerCall: number;
  /** The biggest Redis commands by time (usec per tick), from INFO commandstats. */
  top: string;
  quflxUsPerTick: number;
}

interface WorkingPoint extends Cost {
  run: WorkingPointResult;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function cost(span: RedisCpuSpan, ownUs: number, ticks: number): Cost {
  const calls = span.commands.filter((c) => c.name === 'evalsha' || c.name === 'eval').reduce((n, c) => n + c.calls, 0);
  return {
    redisUsPerTick: span.cpuUs / ticks,
    ticksPerCall: calls > 0 ? ticks / calls : Number.NaN,
    top: span.commands
      .slice(0, 6)
      .map((c) => `${c.name} ${(c.usec / ticks).toFixed(1)} µs/tick (${fmt(c.calls)} calls)`)
      .join(', '),
    quflxUsPerTick: ownUs / ticks,
  };
}

const ownCpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** The feed + subscriber process, driven by commands; each answer is the next report of its type. */
class Client {
  private readonly reports: ClientReport[] = [];
  private waiter: (() => void) | null = null;
  private exited = false;

  constructor(readonly child: ChildProcess) {
    child.on('message', (r: ClientReport) => {
      this.reports.push(r);
      this.waiter?.();
    });
    child.once('exit', () => {
      this.exited = true;
      this.waiter?.();
    });
  }

  static start(): Client {
    const file = new URL('./feed-and-subscriber.ts', import.meta.url).pathname;
    return new Client(fork(file, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  async next<T extends ClientReport['type']>(type: T, timeoutMs = 60_000): Promise<Extract<ClientReport, { type: T }>> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const i = this.reports.findIndex((r) => r.type === type || r.type === 'error');
      if (i >= 0) {
        const [r] = this.reports.splice(i, 1);
        if (r!.type === 'error') throw new Error(`feed/subscriber process: ${r!.message}`);
        return r as Extract<ClientReport, { type: T }>;
      }
      if (this.exited) throw new Error(`feed/subscriber process exited before reporting ${type}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`feed/subscriber process did not report ${type} in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  send(cmd: ClientCommand): void {
    this.child.send(cmd);
  }

  async stop(): Promise<void> {
    if (this.exited || this.child.exitCode !== null) return;
    this.send({ cmd: 'exit' });
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}

/**
 * Ticks far enough back that every timeframe's cache holds `cacheSize` candles: per timeframe,
 * one tick in each of the `cacheSize` buckets before now (as a trader's history would).
 */
function historyTicks(factory: TickFactory, pairs: readonly string[], cacheSize: number, now: number) {
  const times = new Set<number>();
  for (const tf of TIMEFRAMES) {
    const size = timeframeSeconds(tf) * 1000;
    for (let k = 1; k <= cacheSize; k++) times.add(Math.floor((now - k * size) / size) * size + 123);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return pairs.flatMap((p) => sorted.map((ts) => factory.next(p, ts)));
}

/**
 * The hot path at the working point, against a redis-server of the benchmark's own: QuFLX with a
 * ws:// feed (in a child process that also holds the Socket.IO subscriber), once with no candle
 * cache warm and once with all of them (pairs x timeframes) warm, each as a bulk ingest and as
 * one tick per feed message at `ratePerS`. Redis's CPU per tick comes from INFO cpu. The seed's
 * design runs at the same rate against the same server, for comparison. At the end, every
 * cached view is checked against the database's aggregation.
 */
export async function measureHotPath(options: HotPathOptions): Promise<Record<string, unknown>> {
  const { env, pairs, factory } = options;
  const schema = `${env.schema}_hot`;
  let redis: PrivateRedis | null = null;
  let client: Client | null = null;
  let app: QuflxApp | null = null;
  let schemaCreated = false;
  try {
    redis = await PrivateRedis.start();
    const databaseUrl = await createSchema(env, schema);
    schemaCreated = true;
    client = Client.start();
    const { port } = await client.next('listening');
    app = await startBenchApp(env, databaseUrl, { redisUrl: redis.url, keyPrefix: '', feed: `ws://127.0.0.1:${port}` });
    await client.next('feed-connected');
    progress(`hot path: private redis-server on port ${redis.port}, QuFLX with FEED=ws://127.0.0.1:${port} (feed and subscriber in process ${client.child.pid})`);
    const a = app;
    const r = redis;
    const c = client;

    const history = historyTicks(factory, pairs, options.cacheSize, Date.now());
    for (let i = 0; i < history.length; i += 2000) await a.ingestor.submit(validateTickBatch(history.slice(i, i + 2000), Date.now()), 'bench');
    progress(`hot path: ${fmt(history.length)} ticks of history (${options.cacheSize} buckets of every timeframe per pair)`);

    const bulk = async (label: string): Promise<IngestRunResult & Cost> => {
      const own = ownCpuUs();
      const stop = await r.meter();
      const run = await measureIngest(a.ingestor, factory, { ticks: options.bulkTicks, batchSize: options.bulkBatch, concurrency: options.bulkConcurrency });
      const span = await stop();
      const result = { ...run, ...cost(span, ownCpuUs() - own, run.accepted) };
      progress(
        `hot path, bulk, ${label}: ${fmt(run.accepted)} ticks at ${fmt(run.ticksPerS)}/s${run.allAccepted ? '' : ' (NOT every tick accepted!)'}; ` +
          `redis ${result.redisUsPerTick.toFixed(2)} µs/tick, ${result.ticksPerCall.toFixed(0)} ticks per script call; QuFLX ${result.quflxUsPerTick.toFixed(2)} µs/tick; top: ${result.top}`,
      );
      await a.ingestor.drain();
      return result;
    };

    const workingPoint = async (label: string): Promise<WorkingPoint> => {
      // The steady state: the bulk phase's backlog stored first, so its database writes do not run
      // into the measurement (less than one persister batch may stay, by design).
      const backlog = await waitForPersistBacklog(r.url, a.keys.persistQueue(), PERSIST_BATCH_TICKS, 120_000);
      if (!backlog.caughtUp) progress(`hot path: the persister still holds ${fmt(backlog.pending)} ticks of the bulk phase`);
      c.send({ cmd: 'subscribe', url: a.url, pairs: [...pairs] });
      await c.next('subscribed');
      const own = ownCpuUs();
      const stop = await r.meter();
      c.send({ cmd: 'run', ratePerS: options.ratePerS, durationMs: options.durationMs, settleMs: 5000, pairs: [...pairs] });
      const { result: run } = await c.next('result', options.durationMs + 60_000);
      const span = await stop();
      const result = { run, ...cost(span, ownCpuUs() - own, run.sent) };
      c.send({ cmd: 'unsubscribe' });
      await c.next('unsubscribed');
      const l = run.latencyMs;
      progress(
        `hot path, working point, ${label}: sent ${fmt(run.sent)} at ${fmt(run.sentRatePerS)}/s one per message, delivered ${fmt(run.delivered)} ` +
          `(lost ${run.lost}, dup ${run.duplicates}, out of order ${run.outOfOrder}) in ${fmt(run.events)} events; ` +
          `latency p50 ${l.p50.toFixed(3)} ms, p99 ${l.p99.toFixed(3)} ms, max ${l.max.toFixed(2)} ms (subscriber loop delay p99 ${run.clientLoopDelayP99Ms.toFixed(2)} ms); ` +
          `redis ${result.redisUsPerTick.toFixed(2)} µs/tick, ${result.ticksPerCall.toFixed(2)} ticks per script call; QuFLX ${result.quflxUsPerTick.toFixed(2)} µs/tick; top: ${result.top}`,
      );
      return result;
    };

    const coldBulk = await bulk('no cache warm');
    const coldWp = await workingPoint('no cache warm');

    // Warm every cache as a trader clicking through the timeframes would: one read each.
    const t0 = performance.now();
    let fullCaches = 0;
    for (const pair of pairs) {
      for (const tf of TIMEFRAMES) {
        const body = await getCandles(a.url, pair, tf, options.cacheSize);
        if (body.candles.length === options.cacheSize) fullCaches++;
      }
    }
    const warmed = (await Promise.all(pairs.flatMap((p) => TIMEFRAMES.map((tf) => r.client.exists(a.keys.historical(p, tf)))))).reduce((n, x) => n + x, 0);
    progress(`hot path: ${warmed} of ${pairs.length * TIMEFRAMES.length} caches warm (${fullCaches} with ${options.cacheSize} candles) in ${fmt(performance.now() - t0)} ms`);

    const warmBulk = await bulk(`${warmed} caches warm`);
    const warmWp = await workingPoint(`${warmed} caches warm`);

    // The seed's design at the same rate, on the same server (its own keys, no candle caches).
    const ownSeed = ownCpuUs();
    const stopSeed = await r.meter();
    const seed = await measureBaselineAtRate(factory, { redisUrl: r.url, prefix: 'seed:', pairs, ratePerS: options.ratePerS, durationMs: options.durationMs });
    const seedCost = cost(await stopSeed(), ownCpuUs() - ownSeed, seed.sent);
    progress(
      `hot path, seed design (LPUSH, LTRIM, PUBLISH per tick, one at a time) at ${fmt(options.ratePerS)} ticks/s: ${fmt(seed.sent)} sent, ${fmt(seed.received)} received by a pub/sub subscriber; ` +
        `redis ${seedCost.redisUsPerTick.toFixed(2)} µs/tick; top: ${seedCost.top}`,
    );

    // Every view a Redis client GETs must equal the aggregation of every accepted tick.
    const store = new CandleStore(r.client, a.keys);
    let viewsChecked = 0;
    let viewsWrong = 0;
    for (const pair of pairs) {
      for (const tf of TIMEFRAMES) {
        const raw = await r.client.get(a.keys.historical(pair, tf));
        await store.invalidate(pair, [tf]);
        const reference = await getCandles(a.url, pair, tf, options.cacheSize);
        viewsChecked++;
        if (raw === null || reference.source !== 'database' || JSON.stringify(JSON.parse(raw)) !== JSON.stringify(reference.candles)) viewsWrong++;
      }
    }
    progress(`hot path: ${viewsChecked - viewsWrong} of ${viewsChecked} cached views equal the database's aggregation`);

    const wp = (prefix: string, w: WorkingPoint) => ({
      [`${prefix}_redis_us_per_tick`]: round(w.redisUsPerTick, 2),
      [`${prefix}_ticks_per_call`]: round(w.ticksPerCall, 2),
      [`${prefix}_quflx_us_per_tick`]: round(w.quflxUsPerTick, 2),
      [`${prefix}_p50_ms`]: round(w.run.latencyMs.p50),
      [`${prefix}_p99_ms`]: round(w.run.latencyMs.p99),
      [`${prefix}_max_ms`]: round(w.run.latencyMs.max),
      [`${prefix}_rate_per_s`]: Math.round(w.run.sentRatePerS),
      [`${prefix}_sent`]: w.run.sent,
      [`${prefix}_delivered`]: w.run.delivered,
      [`${prefix}_exactly_once_in_order`]: w.run.delivered === w.run.sent && w.run.duplicates === 0 && w.run.outOfOrder === 0,
    });
    const met = warmWp.redisUsPerTick <= TARGET.redisUsPerTick && warmWp.run.latencyMs.p99 < TARGET.p99Ms && warmWp.run.delivered === warmWp.run.sent;
    progress(
      `hot path: working point with every cache warm: redis ${warmWp.redisUsPerTick.toFixed(1)} µs/tick (target <= ${TARGET.redisUsPerTick}), ` +
        `p99 ${warmWp.run.latencyMs.p99.toFixed(2)} ms (target < ${TARGET.p99Ms}), every tick delivered: ${warmWp.run.delivered === warmWp.run.sent}: ${met ? 'met' : 'MISSED'}; ` +
        `the seed's design costs redis ${seedCost.redisUsPerTick.toFixed(1)} µs/tick at that rate`,
    );
    return {
      wp_warm_target_met: met,
      ingest_warm_ticks_per_s: Math.round(warmBulk.ticksPerS),
      hot_ingest_cold_ticks_per_s: Math.round(coldBulk.ticksPerS),
      hot_ingest_cold_redis_us_per_tick: round(coldBulk.redisUsPerTick, 2),
      hot_ingest_warm_redis_us_per_tick: round(warmBulk.redisUsPerTick, 2),
      hot_ingest_all_accepted: coldBulk.allAccepted && warmBulk.allAccepted,
      hot_caches_warm: warmed,
      ...wp('wp_warm', warmWp),
      ...wp('wp_cold', coldWp),
      wp_seed_redis_us_per_tick: round(seedCost.redisUsPerTick, 2),
      wp_warm_redis_vs_seed: round(warmWp.redisUsPerTick / seedCost.redisUsPerTick, 2),
      wp_cold_redis_vs_seed: round(coldWp.redisUsPerTick / seedCost.redisUsPerTick, 2),
      hot_views_checked: viewsChecked,
      hot_views_match_reference: viewsWrong === 0,
    };
  } finally {
    if (client) await client.stop().catch((err: Error) => progress(`hot path: could not stop the feed/subscriber process: ${err.message}`));
    if (app) await app.close().catch((err: Error) => progress(`hot path: could not close QuFLX: ${err.message}`));
    if (redis) await redis.stop().catch((err: Error) => progress(`hot path: could not stop redis-server: ${err.message}`));
    if (schemaCreated) await dropSchema(env, schema).catch((err: Error) => progress(`could not drop schema ${schema}: ${err.message}`));
  }
}

async function getCandles(url: string, pair: string, tf: string, limit: number): Promise<{ source: string; candles: Candle[] }> {
  const res = await fetch(`${url}/api/candles?pair=${encodeURIComponent(pair)}&timeframe=${tf}&limit=${limit}`);
  if (!res.ok) throw new Error(`GET /api/candles ${pair} ${tf}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { source: string; candles: Candle[] };
}
