/**
 * `npm run bench`: QuFLX's ingest throughput against the seed's naive design, and tick-to-browser
 * latency and delivery over Socket.IO, against the real Redis and PostgreSQL (REDIS_URL,
 * DATABASE_URL). Progress lines go to stdout as it runs; the last line is one JSON object.
 * Sizes can be changed with BENCH_* variables (see `settings` below).
 */
import { cpus } from 'node:os';
import type { QuflxApp } from '../src/app.js';
import { DEFAULT_ASSETS } from '../src/config/config.js';
import { measureBaseline } from './baseline.js';
import { idleCpu, startCpuMeter, type CpuShare } from './cpu-meter.js';
import { collectGarbage } from './gc.js';
import { measureIngest } from './ingest.js';
import { measureLive, type LiveRunResult } from './latency.js';
import { waitForPersistBacklog } from './persist-backlog.js';
import { progress } from './progress.js';
import { benchEnv, createSchema, deleteKeys, dropSchema, intSetting, startBenchApp } from './setup.js';
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
};
/** The persister writes in batches of this many ticks (its default maxBatch). */
const PERSIST_BATCH = 5000;

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
  let schemaCreated = false;
  try {
    const databaseUrl = await createSchema(env);
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
    const persist = await waitForPersistBacklog(env.redisUrl, app.keys.persistQueue(), PERSIST_BATCH, 60_000);
    progress(`persister caught up ${fmt(persist.waitedMs)} ms after the ingest run (${fmt(persist.pending)} ticks still queued, less than one batch)`);

    let gcBetweenPhases = collectGarbage();
    progress(`baseline (seed: LPUSH, LTRIM, PUBLISH per tick, one at a time): warm-up ${fmt(settings.baselineWarmupTicks)}, then ${fmt(settings.baselineTicks)} ticks`);
    await measureBaseline(factory, { redisUrl: env.redisUrl, prefix: env.prefix, ticks: settings.baselineWarmupTicks });
    const baseline = await measureBaseline(factory, { redisUrl: env.redisUrl, prefix: env.prefix, ticks: settings.baselineTicks });
    const speedup = ingest.ticksPerS / baseline.ticksPerS;
    progress(`baseline: ${fmt(baseline.ticksPerS)} ticks/s; QuFLX is ${speedup.toFixed(1)}x faster`);

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
    return {
      ingest_ticks_per_s: Math.round(ingest.ticksPerS),
      ingest_ticks: ingest.accepted,
      ingest_all_accepted: ingest.allAccepted,
      ingest_batch: settings.ingestBatch,
      ingest_concurrency: settings.ingestConcurrency,
      baseline_ingest_ticks_per_s: Math.round(baseline.ticksPerS),
      baseline_ticks: baseline.ticks,
      ingest_speedup: round(speedup, 2),
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
      persisted_rows: app.persister.rowsWritten,
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
