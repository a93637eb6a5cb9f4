/**
 * `npm run bench`: QuFLX's ingest throughput against the seed's naive design, the hot path at the
 * working point (a ws:// feed, one tick per message, a subscriber, candle caches cold and warm,
 * Redis's CPU per tick from a redis-server of its own: hot-path.ts), tick-to-browser
 * latency and delivery over Socket.IO, the persister's rate on a backlog (and insertTicks alone),
 * ticks lost at a live load against the seed's LRANGE+DEL flusher, and candle reads from the
 * cache and from the database, against the real Redis and PostgreSQL (REDIS_URL, DATABASE_URL);
 * and `npm start` with WORKERS=1 against WORKERS=2 (workers.ts: HTTP ingest and latency), then the
 * same on a redis-server and on a Redis Cluster of the benchmark's own, with and without
 * REDIS_WAIT_REPLICAS=1 (cluster.ts; BENCH_CLUSTER=0 skips it).
 * Progress lines go to stdout as it runs; the last line is one JSON object.
 * Sizes can be changed with BENCH_* variables (see `settings` below).
 */
import { cpus } from 'node:os';
import type { QuflxApp } from '../src/app.js';
import { DEFAULT_ASSETS } from '../src/config/config.js';
import { PERSIST_BATCH_TICKS } from '../src/persist/persister.js';
import { measureBaseline } from './baseline.js';
import { BenchPersister } from './bench-persister.js';
import { loadTickDay, measureCandleReads } from './candles.js';
import { idleCpu, startCpuMeter, type CpuShare } from './cpu-meter.js';
import { collectGarbage } from './gc.js';
import { measureHotPath } from './hot-path.js';
import { measureIngest } from './ingest.js';
import { measureLive, type LiveRunResult } from './latency.js';
import { measureBaselineLoss, measureOurLoss } from './loss.js';
import { waitForPersistBacklog } from './persist-backlog.js';
import { measurePaint } from './paint.js';
import { countTicks, measureInsertTicks, measurePersistBacklog } from './persist-throughput.js';
import { progress } from './progress.js';
import { measureStorage } from './storage.js';
import { measureWorkers, workersSettings } from './workers.js';
import { clusterSettings, measureCluster } from './cluster.js';
import { benchEnv, benchLogger, createSchema, deleteKeys, dropSchema, intSetting, startBenchApp } from './setup.js';
import { round } from './stats.js';
import { TickFactory } from './tick-factory.js';

const settings = {
  ingestTicks: intSetting('BENCH_INGEST_TICKS', 200_000),
  ingestWarmupTicks: intSetting('BENCH_INGEST_WARMUP_TICKS', 20_000),
  ingestBatch: intSetting('BENCH_INGEST_BATCH', 250),
  ingestConcurrency: intSetting('BENCH_INGEST_CONCURRENCY', 64),
  baselineTicks: intSetting('BENCH_BASELINE_TICKS', 20_000),
  baselineWarmupTicks: intSetting('BENCH_BASELINE_WARMUP_TICKS', 1_000),
  e2eRate: intSetting('BENCH_E2E_RATE', 1_000),
  e2eMs: intSetting('BENCH_E2E_MS', 10_000),
  floodRate: intSetting('BENCH_FLOOD_RATE', 20_000),
  floodMs: intSetting('BENCH_FLOOD_MS', 5_000),
  persistTicks: intSetting('BENCH_PERSIST_TICKS', 300_000),
  insertUnnestRows: intSetting('BENCH_INSERT_ROWS', 100_000),
  insertCopyRows: intSetting('BENCH_INSERT_COPY_ROWS', 150_000),
  lossRatePerPair: intSetting('BENCH_LOSS_RATE_PER_PAIR', 1_000),
  lossMs: intSetting('BENCH_LOSS_MS', 10_000),
  lossBatchIntervalMs: intSetting('BENCH_LOSS_BATCH_INTERVAL_MS', 1_000),
  candleTicksPerMinute: intSetting('BENCH_CANDLE_TICKS_PER_MINUTE', 1_000),
  candleMinutes: intSetting('BENCH_CANDLE_MINUTES', 1_440),
  candleLoadBatch: intSetting('BENCH_CANDLE_LOAD_BATCH', 10_000),
  candleLoadConnections: intSetting('BENCH_CANDLE_LOAD_CONNECTIONS', 2),
  candleSamples: intSetting('BENCH_CANDLE_SAMPLES', 50),
  paintMs: intSetting('BENCH_PAINT_MS', 20_000),
  hotBulkTicks: intSetting('BENCH_HOT_BULK_TICKS', 100_000),
  workingPointRate: intSetting('BENCH_WP_RATE', 2_000),
  workingPointMs: intSetting('BENCH_WP_MS', 10_000),
  storageTicks: intSetting('BENCH_STORAGE_TICKS', 200_000),
};
/** Targets on this kind of machine (2 cores): reported next to the figures. */
const TARGETS = { ingestTicksPerS: 200_000, ingestSpeedup: 20, persistRowsPerS: 150_000, cacheHitP50Ms: 2, dbFallbackP50Ms: 50 };
/** The pair the candle phase loads a day of ticks for; no other phase uses it. */
const CANDLE_PAIR = 'EUR/CHF_otc';

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const cpuText = (c: CpuShare) => `cpu: this process ${fmt(c.ownPct)}%, others (Redis, PostgreSQL, rest of the machine) ${fmt(c.otherPct)}% of a core`;
/** Other processes using more than this share of a core make latency figures noisy. */
const BUSY_OTHER_PCT = 25;

function describeLive(label: string, r: LiveRunResult): string {
  const l = r.latencyMs;
  return (
    `${label}: sent ${fmt(r.sent)} at ${fmt(r.sentRatePerS)}/s, delivered ${fmt(r.delivered)} (lost ${r.lost}, ` +
    `dup ${r.duplicates}, out of order ${r.outOfOrder}) in ${fmt(r.events)} events; latency p50 ${l.p50.toFixed(3)} ms, ` +
    `p90 ${l.p90.toFixed(3)} ms, p99 ${l.p99.toFixed(3)} ms, max ${l.max.toFixed(2)} ms; ` +
    `event-loop delay p99 ${r.eventLoopDelayMs.p99.toFixed(2)} ms`
  );
}

async function main(): Promise<Record<string, unknown>> {
  const env = benchEnv();
  const pairs = DEFAULT_ASSETS;
  const factory = new TickFactory(pairs);
  progress(`node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model ?? 'unknown'}); redis ${env.redisUrl}; key prefix ${env.prefix}; schema ${env.schema}`);

  const before = await idleCpu();
  if (before.otherPct > BUSY_OTHER_PCT) {
    progress(`WARNING: other processes use ${fmt(before.otherPct)}% of a core before the run; latency figures will be noisy`);
  }

  let app: QuflxApp | null = null;
  let persister: BenchPersister | null = null;
  let schemaCreated = false;
  try {
    const databaseUrl = await createSchema(env);
    const log = benchLogger();
    schemaCreated = true;
    app = await startBenchApp(env, databaseUrl);
    progress(`QuFLX started at ${app.url} (redis ${app.redisKind}, database ${app.databaseKind})`);
    const ingestOptions = { batchSize: settings.ingestBatch, concurrency: settings.ingestConcurrency };

    progress(`ingest warm-up: ${fmt(settings.ingestWarmupTicks)} ticks`);
    await measureIngest(app.ingestor, factory, { ...ingestOptions, ticks: settings.ingestWarmupTicks });
    progress(`ingest: ${fmt(settings.ingestTicks)} ticks over ${pairs.length} pairs, batches of ${settings.ingestBatch}, ${settings.ingestConcurrency} submits in flight`);
    let meter = startCpuMeter();
    const ingest = await measureIngest(app.ingestor, factory, { ...ingestOptions, ticks: settings.ingestTicks });
    const ingestCpu = meter();
    progress(`ingest: ${fmt(ingest.accepted)} accepted in ${fmt(ingest.wallMs)} ms = ${fmt(ingest.ticksPerS)} ticks/s` + (ingest.allAccepted ? '' : ' (NOT every tick accepted!)'));
    progress(`ingest ${cpuText(ingestCpu)}`);
    await app.ingestor.drain();
    // The persister writes the ingested ticks to PostgreSQL; let it finish before timing anything else.
    const persist = await waitForPersistBacklog(env.redisUrl, app.keys.persistQueue(), PERSIST_BATCH_TICKS, 60_000);
    progress(`persister caught up ${fmt(persist.waitedMs)} ms after the ingest run (${fmt(persist.pending)} ticks still queued, less than one batch)`);

    let gcBetweenPhases = collectGarbage();
    progress(`baseline (seed: LPUSH, LTRIM, PUBLISH per tick, one at a time): warm-up ${fmt(settings.baselineWarmupTicks)}, then ${fmt(settings.baselineTicks)} ticks`);
    await measureBaseline(factory, { redisUrl: env.redisUrl, prefix: env.prefix, ticks: settings.baselineWarmupTicks });
    const baseline = await measureBaseline(factory, { redisUrl: env.redisUrl, prefix: env.prefix, ticks: settings.baselineTicks });
    const speedup = ingest.ticksPerS / baseline.ticksPerS;
    progress(
      `baseline: ${fmt(baseline.ticksPerS)} ticks/s; QuFLX is ${speedup.toFixed(1)}x faster ` +
        `(target ${fmt(TARGETS.ingestTicksPerS)} ticks/s and ${TARGETS.ingestSpeedup}x: ${ingest.ticksPerS >= TARGETS.ingestTicksPerS && speedup >= TARGETS.ingestSpeedup ? 'met' : 'MISSED'})`,
    );

    gcBetweenPhases = collectGarbage() && gcBetweenPhases;
    progress(`hot path: a redis-server of the benchmark's own; bulk (${fmt(settings.hotBulkTicks)} ticks) and ${fmt(settings.workingPointRate)} ticks/s one per ws message for ${settings.workingPointMs / 1000} s, caches cold then warm`);
    const hot = await measureHotPath({
      env,
      pairs,
      factory,
      bulkTicks: settings.hotBulkTicks,
      bulkBatch: settings.ingestBatch,
      bulkConcurrency: settings.ingestConcurrency,
      ratePerS: settings.workingPointRate,
      durationMs: settings.workingPointMs,
      cacheSize: 200,
    });

    gcBetweenPhases = collectGarbage() && gcBetweenPhases;
    progress(`e2e latency: ${fmt(settings.e2eRate)} ticks/s for ${settings.e2eMs / 1000} s to a Socket.IO subscriber of ${pairs.length} pairs`);
    meter = startCpuMeter();
    const e2e = await measureLive({ url: app.url, ingestor: app.ingestor, factory, pairs, ratePerS: settings.e2eRate, durationMs: settings.e2eMs });
    const e2eCpu = meter();
    progress(describeLive('e2e', e2e));
    progress(`e2e ${cpuText(e2eCpu)}`);

    gcBetweenPhases = collectGarbage() && gcBetweenPhases;
    progress(`delivery: ${fmt(settings.floodRate)} ticks/s for ${settings.floodMs / 1000} s`);
    meter = startCpuMeter();
    const flood = await measureLive({ url: app.url, ingestor: app.ingestor, factory, pairs, ratePerS: settings.floodRate, durationMs: settings.floodMs, settleMs: 5000 });
    const floodCpu = meter();
    progress(describeLive('delivery', flood));
    progress(`delivery ${cpuText(floodCpu)}`);

    const spikes = (await app.metrics.latencySpikes.get()).values[0]?.value ?? 0;
    const persistedByApp = app.persister.rowsWritten;

    // Persister on a backlog: the app's persister stops (writing the batch in hand), ticks are
    // accepted while none runs, then a fresh Persister on the same prefix and schema drains them.
    gcBetweenPhases = collectGarbage() && gcBetweenPhases;
    await waitForPersistBacklog(env.redisUrl, app.keys.persistQueue(), PERSIST_BATCH_TICKS, 60_000);
    await app.persister.close();
    persister = await BenchPersister.create({
      redisUrl: env.redisUrl,
      databaseUrl,
      keys: app.keys,
      consumer: `${env.consumer}-fresh`,
      // A short interval: the last, partial batch should not wait a whole interval inside a throughput figure.
      batchIntervalMs: 100,
      log,
    });
    const leftover = Number((await persister.redis.get(app.keys.persistQueueTicks())) ?? 0);
    const rowsBefore = await countTicks(persister.pool);
    progress(`persist backlog: app persister stopped (${fmt(rowsBefore)} rows stored, ${fmt(leftover)} queued); accepting ${fmt(settings.persistTicks)} ticks over ${pairs.length} pairs with no persister running`);
    const backlogIngest = await measureIngest(app.ingestor, factory, { ...ingestOptions, ticks: settings.persistTicks });
    await app.ingestor.drain();
    const queued = Number((await persister.redis.get(app.keys.persistQueueTicks())) ?? 0);
    const entries = await persister.redis.xLen(app.keys.persistQueue());
    progress(`persist backlog: ${fmt(backlogIngest.accepted)} accepted at ${fmt(backlogIngest.ticksPerS)} ticks/s; ${fmt(queued)} ticks in the queue (${fmt(entries)} entries); starting a fresh Persister (batches of ${PERSIST_BATCH_TICKS})`);
    meter = startCpuMeter();
    const backlog = await measurePersistBacklog(persister, {
      redisUrl: env.redisUrl,
      queueKey: app.keys.persistQueue(),
      expected: queued,
      rowsBefore,
      timeoutMs: 90_000,
    });
    const backlogCpu = meter();
    const b = backlog.breakdownMs;
    progress(
      `persist backlog: ${fmt(backlog.rows)} rows in ${fmt(backlog.wallMs)} ms = ${fmt(backlog.rowsPerS)} rows/s ` +
        `(target ${fmt(TARGETS.persistRowsPerS)}: ${backlog.rowsPerS >= TARGETS.persistRowsPerS ? 'met' : 'MISSED'}); ${fmt(backlog.stored)} found in the table, ${backlog.queueLeft} left in the queue`,
    );
    progress(
      `persist backlog time (ms): XREADGROUP ${b.xreadgroup}, pool.connect ${b.connect}, BEGIN ${b.begin}, INSERT+rollups ${b.insert}, COMMIT ${b.commit}, ` +
        `XACK ${b.xack}, trim script ${b.trim}, other (JSON.parse + toRow, buffering, lag checks) ${b.other}; ` +
        `${backlog.batches} batches; JSON.parse+toRow alone ${backlog.parseUsPerRow.toFixed(2)} µs/row = ${fmt((backlog.parseUsPerRow * backlog.rows) / 1000)} ms`,
    );
    progress(`persist backlog: slowest single call (ms): XREADGROUP ${backlog.slowestMs.xreadgroup}, INSERT ${backlog.slowestMs.insert}, COMMIT ${backlog.slowestMs.commit}`);
    progress(`persist backlog ${cpuText(backlogCpu)}`);

    progress(`insertTicks alone: ${fmt(settings.insertUnnestRows)} rows in batches of 5,000 (unnest), ${fmt(settings.insertCopyRows)} in batches of 50,000 (COPY), and the unnest INSERT without rollups`);
    const insert = await measureInsertTicks(databaseUrl, {
      unnestRows: settings.insertUnnestRows,
      copyRows: settings.insertCopyRows,
      firstId: 1_000_000_000,
    });
    progress(
      `insertTicks: unnest ${fmt(insert.unnest.rowsPerS)} rows/s (${insert.unnest.batchMs.toFixed(1)} ms per 5,000), ` +
        `two connections at once ${fmt(insert.twoWriters.rowsPerS)} rows/s, COPY ${fmt(insert.copy.rowsPerS)} rows/s (${fmt(insert.copy.batchMs)} ms per 50,000), ` +
        `without the rollup CTE ${fmt(insert.plain.rowsPerS)} rows/s (${insert.plain.batchMs.toFixed(1)} ms per 5,000)`,
    );

    // Lost ticks at a live load: QuFLX (feed path, persister with a short interval) and the seed's design.
    gcBetweenPhases = collectGarbage() && gcBetweenPhases;
    const lossRate = settings.lossRatePerPair * pairs.length;
    progress(`loss: QuFLX at ${fmt(lossRate)} unique ticks/s (${fmt(settings.lossRatePerPair)}/s per pair) for ${settings.lossMs / 1000} s, BATCH_INTERVAL_MS ${settings.lossBatchIntervalMs}`);
    const p = persister;
    const queueKey = app.keys.persistQueue();
    const ours = await measureOurLoss({
      ingestor: app.ingestor,
      factory,
      pairs,
      ratePerS: lossRate,
      durationMs: settings.lossMs,
      pool: p.pool,
      drained: async () => (await p.redis.xLen(queueKey)) === 0,
      drainTimeoutMs: 30_000,
    });
    progress(`loss: QuFLX sent ${fmt(ours.sent)} at ${fmt(ours.sentRatePerS)}/s, stored ${fmt(ours.stored)}, lost ${fmt(ours.lost)} (refused at ingest ${ours.refused}), duplicate rows ${ours.duplicates} (drained ${fmt(ours.drainMs)} ms after the last tick)`);
    progress(`loss: seed design (LPUSH + LTRIM 0 999 per tick, LRANGE 0 -1 + DEL every 2 s) at the same load for ${settings.lossMs / 1000} s`);
    const seed = await measureBaselineLoss({
      redisUrl: env.redisUrl,
      prefix: env.prefix,
      databaseUrl,
      factory,
      pairs,
      ratePerS: lossRate,
      durationMs: settings.lossMs,
    });
    progress(`loss: seed design sent ${fmt(seed.sent)} at ${fmt(seed.sentRatePerS)}/s, stored ${fmt(seed.stored)}, lost ${fmt(seed.lost)} (${((100 * seed.lost) / seed.sent).toFixed(1)}%)`);

    // Candles over a day of ticks: the cache, and the database when it misses.
    gcBetweenPhases = collectGarbage() && gcBetweenPhases;
    const dayTicks = settings.candleTicksPerMinute * settings.candleMinutes;
    progress(`candles: loading ${fmt(dayTicks)} ticks of ${CANDLE_PAIR} (${fmt(settings.candleTicksPerMinute)}/min over ${fmt(settings.candleMinutes)} min) with insertTicks, batches of ${fmt(settings.candleLoadBatch)} on ${settings.candleLoadConnections} connections`);
    const load = await loadTickDay(databaseUrl, {
      pair: CANDLE_PAIR,
      perMinute: settings.candleTicksPerMinute,
      minutes: settings.candleMinutes,
      batch: settings.candleLoadBatch,
      connections: settings.candleLoadConnections,
      onProgress: (rows) => progress(`candles: ${fmt(rows)} ticks loaded`),
    });
    progress(`candles: loaded ${fmt(load.rows)} ticks in ${fmt(load.wallMs)} ms = ${fmt(load.rowsPerS)} rows/s (ticks and tick_rollups)`);
    // Loaded straight into the database: the running server learns the pair's name as a CSV import makes it do.
    await app.registry.register([CANDLE_PAIR], 'all');
    progress(`candles: ${settings.candleSamples} reads of 200 1M candles each way: in-process CandleService (fallback after CandleStore.invalidate, then hits), then GET /api/candles`);
    const reads = await measureCandleReads({
      redisUrl: env.redisUrl,
      databaseUrl,
      keys: app.keys,
      appUrl: app.url,
      pair: CANDLE_PAIR,
      limit: 200,
      expected: Math.min(200, settings.candleMinutes),
      samples: settings.candleSamples,
      cacheSize: 200,
      log,
    });
    const ms = (s: { p50: number; p90: number; p99: number; max: number }) => `p50 ${s.p50.toFixed(3)} ms, p90 ${s.p90.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms, max ${s.max.toFixed(2)} ms`;
    progress(`candles server-side: cache hit ${ms(reads.hit)} (target p50 < ${TARGETS.cacheHitP50Ms} ms); database fallback ${ms(reads.fallback)} (target p50 < ${TARGETS.dbFallbackP50Ms} ms)`);
    progress(`candles over HTTP: cache hit ${ms(reads.hitHttp)}; database fallback ${ms(reads.fallbackHttp)}`);
    progress(`candles: ${reads.candles} candles per answer; sources as expected: ${reads.sourcesRight}; HTTP and in-process answers agree: ${reads.httpMatches}`);

    // Tick-to-paint in Chromium: its own app with the simulator, one 5S chart (bench/paint.ts).
    progress(`tick-to-paint: Chromium, one 5S chart, ${pairs.length} simulated pairs at 3,000 ticks/min, ${settings.paintMs / 1000} s`);
    const paint = await measurePaint({ redisUrl: env.redisUrl, databaseUrl: env.databaseUrl, ticksPerMinute: 3000, warmupMs: 5000, durationMs: settings.paintMs });
    progress(
      `tick-to-paint: page figure p50 ${paint.page.p50} ms, p99 ${paint.page.p99} ms over ${paint.page.count} ticks; probe p50 ${paint.probe.p50} ms; ` +
        `arrival in the page p50 ${paint.arrival.p50} ms; ${paint.fps.toFixed(1)} fps`,
    );

    progress(`storage: ${fmt(settings.storageTicks)} ticks of the default load per variant (no id, integer id, text id, half and half)`);
    const storage = await measureStorage(env.databaseUrl, { ticks: settings.storageTicks });
    progress(`storage: ${storage.storage_bytes_per_tick} bytes per tick (no id ${storage.storage_bytes_per_tick_no_id}, integer id ${storage.storage_bytes_per_tick_integer_id}, text id ${storage.storage_bytes_per_tick_text_id}); ${storage.storage_mb_per_day} MB a day at 7.2M ticks`);

    const w = workersSettings();
    progress(`workers: npm start with WORKERS=1, then WORKERS=2: HTTP ingest of ${fmt(w.ticks)} ticks, then ${fmt(w.e2eRatePerS)} ticks/s one per POST for ${w.e2eMs / 1000} s to 2 subscribers (load from another process)`);
    const workers = await measureWorkers({ env, pairs, workers: [1, 2], ...w });

    // The same measurement on one redis-server and on a Redis Cluster of the phase's own (bench/cluster.ts).
    let cluster: Record<string, number | boolean | string> = {};
    if (process.env.BENCH_CLUSTER === '0') progress('cluster phase: skipped (BENCH_CLUSTER=0)');
    else {
      const c = clusterSettings();
      progress(
        `cluster phase: WORKERS=1 and 2 on one redis-server, then on a Redis Cluster (${c.masters} masters, ${c.replicasPerMaster} replica each), then WORKERS=1 with REDIS_WAIT_REPLICAS=1: ` +
          `HTTP ingest of ${fmt(c.ticks)} ticks, then ${fmt(c.e2eRatePerS)} ticks/s for ${c.e2eMs / 1000} s, each run against single_w1`,
      );
      try {
        cluster = await measureCluster({ env, pairs, ...c });
      } catch (err) {
        // The phase needs redis-server and redis-cli on PATH; the figures of the other phases still count.
        progress(`cluster phase failed: ${(err as Error).message}`);
        cluster = { cluster_phase_error: (err as Error).message };
      }
    }

    return {
      ...storage,
      ...workers,
      ...cluster,
      paint_p50_ms: round(paint.page.p50),
      paint_p99_ms: round(paint.page.p99),
      paint_probe_p50_ms: round(paint.probe.p50),
      paint_arrival_p50_ms: round(paint.arrival.p50),
      paint_fps: round(paint.fps, 1),
      ingest_ticks_per_s: Math.round(ingest.ticksPerS),
      ingest_ticks: ingest.accepted,
      ingest_all_accepted: ingest.allAccepted,
      ingest_batch: settings.ingestBatch,
      ingest_concurrency: settings.ingestConcurrency,
      baseline_ingest_ticks_per_s: Math.round(baseline.ticksPerS),
      baseline_ticks: baseline.ticks,
      ingest_speedup: round(speedup, 2),
      ingest_target_met: ingest.ticksPerS >= TARGETS.ingestTicksPerS && speedup >= TARGETS.ingestSpeedup,
      ...hot,
      persist_catch_up_ms: Math.round(persist.waitedMs),
      e2e_p50_ms: round(e2e.latencyMs.p50),
      e2e_p90_ms: round(e2e.latencyMs.p90),
      e2e_p99_ms: round(e2e.latencyMs.p99),
      e2e_max_ms: round(e2e.latencyMs.max),
      e2e_rate_per_s: Math.round(e2e.sentRatePerS),
      e2e_sent: e2e.sent,
      e2e_delivered: e2e.delivered,
      e2e_exactly_once_in_order: e2e.delivered === e2e.sent && e2e.duplicates === 0 && e2e.outOfOrder === 0 && e2e.foreign === 0,
      e2e_event_loop_delay_p99_ms: round(e2e.eventLoopDelayMs.p99),
      delivered_at_20k: round(flood.delivered / flood.sent, 6),
      lost_at_20k: flood.lost,
      flood_rate_per_s: Math.round(flood.sentRatePerS),
      flood_sent: flood.sent,
      flood_duplicates: flood.duplicates,
      flood_out_of_order: flood.outOfOrder,
      flood_p50_ms: round(flood.latencyMs.p50),
      flood_p99_ms: round(flood.latencyMs.p99),
      redis_roundtrips_over_10ms: spikes,
      persisted_rows: persistedByApp,
      persist_rows_per_s: Math.round(backlog.rowsPerS),
      persist_target_met: backlog.rowsPerS >= TARGETS.persistRowsPerS,
      persist_rows: backlog.rows,
      persist_ms: Math.round(backlog.wallMs),
      persist_stored: backlog.stored,
      persist_queue_left: backlog.queueLeft,
      persist_batches: backlog.batches,
      persist_xreadgroup_ms: b.xreadgroup,
      persist_connect_ms: b.connect,
      persist_begin_ms: b.begin,
      persist_insert_ms: b.insert,
      persist_commit_ms: b.commit,
      persist_xack_ms: b.xack,
      persist_trim_ms: b.trim,
      persist_other_ms: b.other,
      persist_parse_us_per_row: round(backlog.parseUsPerRow),
      persist_cpu_own_pct: Math.round(backlogCpu.ownPct),
      persist_cpu_other_pct: Math.round(backlogCpu.otherPct),
      insert_rows_per_s: Math.round(insert.unnest.rowsPerS),
      insert_batch_ms: round(insert.unnest.batchMs, 1),
      insert_copy_rows_per_s: Math.round(insert.copy.rowsPerS),
      insert_copy_batch_ms: round(insert.copy.batchMs, 1),
      insert_no_rollup_rows_per_s: Math.round(insert.plain.rowsPerS),
      insert_two_writers_rows_per_s: Math.round(insert.twoWriters.rowsPerS),
      lost_ticks: ours.lost,
      baseline_lost_ticks: seed.lost,
      loss_sent: ours.sent,
      baseline_loss_sent: seed.sent,
      baseline_lost_pct: round((100 * seed.lost) / seed.sent, 1),
      loss_duplicate_rows: ours.duplicates,
      baseline_loss_duplicate_rows: seed.duplicates,
      loss_rate_per_s: Math.round(ours.sentRatePerS),
      baseline_loss_rate_per_s: Math.round(seed.sentRatePerS),
      loss_drain_ms: Math.round(ours.drainMs),
      candle_load_rows: load.rows,
      candle_load_ms: Math.round(load.wallMs),
      candle_load_rows_per_s: Math.round(load.rowsPerS),
      candle_load_connections: settings.candleLoadConnections,
      cache_hit_p50_ms: round(reads.hit.p50),
      cache_hit_p99_ms: round(reads.hit.p99),
      db_fallback_p50_ms: round(reads.fallback.p50),
      db_fallback_p99_ms: round(reads.fallback.p99),
      cache_hit_http_p50_ms: round(reads.hitHttp.p50),
      cache_hit_http_p99_ms: round(reads.hitHttp.p99),
      db_fallback_http_p50_ms: round(reads.fallbackHttp.p50),
      db_fallback_http_p99_ms: round(reads.fallbackHttp.p99),
      candle_reads_right: reads.sourcesRight && reads.httpMatches,
      gc_between_phases: gcBetweenPhases,
      cpu_other_before_pct: Math.round(before.otherPct),
      cpu_ingest_own_pct: Math.round(ingestCpu.ownPct),
      cpu_ingest_other_pct: Math.round(ingestCpu.otherPct),
      cpu_e2e_own_pct: Math.round(e2eCpu.ownPct),
      cpu_e2e_other_pct: Math.round(e2eCpu.otherPct),
      cpu_flood_own_pct: Math.round(floodCpu.ownPct),
      cpu_flood_other_pct: Math.round(floodCpu.otherPct),
      node: process.version,
      cpus: cpus().length,
    };
  } finally {
    if (persister) await persister.close();
    if (app) await app.close();
    const deleted = await deleteKeys(env.redisUrl, env.prefix).catch((err: Error) => {
      progress(`could not delete keys under ${env.prefix}: ${err.message}`);
      return 0;
    });
    if (schemaCreated) {
      await dropSchema(env).catch((err: Error) => progress(`could not drop schema ${env.schema}: ${err.message}`));
    }
    progress(`cleaned up: ${deleted} Redis keys under ${env.prefix}, schema ${env.schema}`);
  }
}

main()
  .then(
    (report) => {
      console.log(JSON.stringify(report));
    },
    (err: Error) => {
      console.error(err);
      console.log(JSON.stringify({ error: err.message }));
      process.exitCode = 1;
    },
  )
  .finally(() => {
    // Everything is closed; should a stray handle keep the loop alive, do not hang the caller.
    setTimeout(() => {
      console.error('bench: forcing exit (a handle was left open)');
      process.exit(process.exitCode ?? 0);
    }, 5000).unref();
  });
