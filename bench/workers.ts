/**
 * The WORKERS phase of `npm run bench`: QuFLX started as `npm start` starts it (src/main.ts in a
 * child process), with WORKERS=1 and then WORKERS=2, against a redis-server of the benchmark's
 * own, each with its own key prefix and schema. A load generator in another process
 * (bench/workers-load.ts) measures HTTP ingest throughput (batches over keep-alive connections,
 * which node:cluster spreads over the workers) and tick-to-subscriber latency (single ticks POSTed
 * at a steady rate, Socket.IO subscribers on the workers). QuFLX's CPU per tick is the growth of
 * `quflx_process_cpu_seconds_total` over every process (workers and primary) in its /metrics.
 * One configuration is runWorkersConfig, against any BenchRedis (bench/cluster.ts runs it on a
 * Redis Cluster too).
 *
 * Run alone: `npx tsx bench/workers.ts` (its last line is a JSON object too).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_ASSETS } from '../src/config/config.js';
import { startCpuMeter } from './cpu-meter.js';
import { atExit, exitOnSignals, PrivateRedis } from './private-redis.js';
import { progress } from './progress.js';
import { benchEnv, createSchema, dropSchema, intSetting, type BenchEnv } from './setup.js';
import { round } from './stats.js';
import type { IngestLoadResult, LatencyLoadResult, LoadCommand, LoadReport } from './workers-load.js';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface WorkersOptions {
  env: BenchEnv;
  pairs: readonly string[];
  /** Worker counts to compare, in this order. */
  workers: readonly number[];
  ticks: number;
  batch: number;
  connections: number;
  e2eRatePerS: number;
  e2eMs: number;
}

export function workersSettings(): Omit<WorkersOptions, 'env' | 'pairs' | 'workers'> {
  return {
    ticks: intSetting('BENCH_WORKERS_TICKS', 150_000),
    batch: intSetting('BENCH_WORKERS_BATCH', 250),
    connections: intSetting('BENCH_WORKERS_CONNECTIONS', 16),
    e2eRatePerS: intSetting('BENCH_WORKERS_E2E_RATE', 1_000),
    e2eMs: intSetting('BENCH_WORKERS_E2E_MS', 10_000),
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** QuFLX as `npm start` runs it, in a child process; resolves once the primary (or the one process) says it runs. */
class QuflxProcess {
  /** Log lines at warn or above so far (they go to stderr as they come). */
  warnings = 0;
  url = '';

  private constructor(
    readonly child: ChildProcess,
    private readonly dropExitHook: () => void,
  ) {}

  static start(env: Record<string, string>): Promise<QuflxProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // Should the benchmark die first: the primary goes, and its workers with it (their IPC channel closes).
    const q = new QuflxProcess(
      child,
      atExit(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }),
    );
    return new Promise((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('QuFLX did not start in 120 s'));
      }, 120_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        buf += chunk.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const line of lines) {
          let entry: { level?: number; msg?: string; url?: string };
          try {
            entry = JSON.parse(line);
          } catch {
            continue;
          }
          if ((entry.level ?? 0) >= 40) {
            q.warnings++;
            process.stderr.write(`quflx: ${line}\n`);
          }
          if (entry.msg === 'QuFLX is running') {
            clearTimeout(timer);
            q.url = entry.url!;
            resolve(q);
          }
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        q.dropExitHook();
        reject(new Error(`QuFLX exited (code ${code}) before it ran`));
      });
    });
  }

  /** Ctrl+C; resolves with the exit code (null: it did not stop in 60 s and was SIGKILLed). */
  stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        progress('QuFLX did not stop 60 s after Ctrl+C: SIGKILL');
        this.child.kill('SIGKILL');
      }, 60_000);
      this.child.once('exit', (code) => {
        clearTimeout(timer);
        this.dropExitHook();
        resolve(code);
      });
      this.child.kill('SIGINT');
    });
  }

  /** CPU seconds of every QuFLX process so far (all workers and the primary). */
  async cpuSeconds(): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    let sum = 0;
    for (const m of text.matchAll(/^quflx_process_cpu_seconds_total(?:\{[^}]*\})? (\S+)$/gm)) sum += Number(m[1]);
    return sum;
  }
}

/** The load generator process; each command's answer is its next report. */
export class LoadGenerator {
  private readonly child = fork(path.join(ROOT, 'bench/workers-load.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  /** Resolves once the process has loaded and listens for commands. */
  readonly ready = new Promise<void>((resolve, reject) => {
    this.child.once('message', () => resolve());
    this.child.once('exit', (code) => reject(new Error(`the load generator exited (code ${code})`)));
  });

  run(cmd: Exclude<LoadCommand, { cmd: 'exit' }>): Promise<LoadReport> {
    return new Promise((resolve, reject) => {
      if (!this.child.connected) {
        reject(new Error(`the load generator is gone (exit code ${this.child.exitCode})`));
        return;
      }
      const onExit = (code: number | null) => reject(new Error(`the load generator exited (code ${code})`));
      this.child.once('exit', onExit);
      this.child.once('message', (r: LoadReport) => {
        this.child.off('exit', onExit);
        if (r.type === 'error') reject(new Error(`load generator: ${r.message}`));
        else resolve(r);
      });
      this.child.send(cmd);
    });
  }

  close(): void {
    if (this.child.connected) this.child.send({ cmd: 'exit' } satisfies LoadCommand);
  }
}

/** What a WORKERS run needs of its Redis: the REDIS_URL to give QuFLX and a meter of Redis's CPU. */
export interface BenchRedis {
  /** REDIS_URL for QuFLX (one node, or a comma-separated list of a cluster's nodes). */
  readonly url: string;
  /** Starts measuring; the returned function tells what Redis spent since. */
  meter(): Promise<() => Promise<RedisSpend>>;
}

/** Redis's CPU over a span, µs: every server's (masters and replicas), the masters', and the busiest server's. */
export interface RedisSpend {
  cpuUs: number;
  mastersCpuUs: number;
  busiestCpuUs: number;
}

/** A private redis-server as a BenchRedis (one node: its CPU is all three figures). */
export function singleNode(redis: PrivateRedis): BenchRedis {
  return {
    url: redis.url,
    meter: async () => {
      const stop = await redis.meter();
      return async () => {
        const { cpuUs } = await stop();
        return { cpuUs, mastersCpuUs: cpuUs, busiestCpuUs: cpuUs };
      };
    },
  };
}

/** One QuFLX configuration to measure. */
export interface WorkersConfig {
  /** Names the run in progress lines, and its key prefix, schema and persist consumer (letters, digits, _). */
  name: string;
  /** Names the run in progress lines instead. */
  label?: string;
  workers: number;
  /** More environment for QuFLX (e.g. REDIS_WAIT_REPLICAS). */
  env?: Record<string, string>;
}

export type WorkersLoad = Pick<WorkersOptions, 'env' | 'pairs' | 'ticks' | 'batch' | 'connections' | 'e2eRatePerS' | 'e2eMs'>;

export interface WorkersRun {
  name: string;
  workers: number;
  ingest: IngestLoadResult;
  latency: LatencyLoadResult;
  quflxCpuUsPerTick: number;
  /** QuFLX's processes' CPU during the ingest run, in percent of one core (WORKERS=2 can use 200). */
  quflxCpuPct: number;
  redisUsPerTick: number;
  redisMastersUsPerTick: number;
  /** The busiest Redis server's CPU per tick (on a cluster, the master that holds the most pairs). */
  redisBusiestUsPerTick: number;
  /** What else ran during the ingest run (the machine's busy time less QuFLX, Redis and the load generator), percent of one core. */
  otherCpuPct: number;
  /** QuFLX log lines at warn (40) or above during the run (printed to stderr as they come). */
  logWarnings: number;
  /** QuFLX's exit code after Ctrl+C (0 when it stopped in order). */
  exitCode: number | null;
}

/**
 * One configuration: starts QuFLX (`npm start`'s src/main.ts) against `redis` with a key prefix,
 * schema and consumer of its own, warms up, measures HTTP ingest then tick-to-subscriber latency
 * with `load`, and stops it (Ctrl+C) and drops its schema, also when the run fails.
 */
export async function runWorkersConfig(redis: BenchRedis, load: LoadGenerator, options: WorkersLoad, config: WorkersConfig): Promise<WorkersRun> {
  const { workers, name } = config;
  const label = config.label ?? name;
  const schema = `${options.env.schema}_${name}`;
  const databaseUrl = await createSchema(options.env, schema);
  liveSchemas.set(schema, options.env);
  let quflx: QuflxProcess | null = null;
  let firstId = 1;
  try {
    quflx = await QuflxProcess.start({
      WORKERS: String(workers),
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: redis.url,
      DATABASE_URL: databaseUrl,
      REDIS_KEY_PREFIX: `${options.env.prefix}${name}:`,
      PERSIST_CONSUMER: `${options.env.consumer}-${name}`,
      FEED: 'none',
      LOG_LEVEL: 'info',
      ...config.env,
    });
    const extra = Object.entries(config.env ?? {}).map(([k, v]) => ` ${k}=${v}`).join('');
    progress(`${label}: QuFLX with WORKERS=${workers}${extra} at ${quflx.url}`);
    const pairs = [...options.pairs];
    const ingestCmd = { cmd: 'ingest' as const, url: quflx.url, pairs, batch: options.batch, connections: options.connections };
    const warmup = Math.ceil(options.ticks / 10);
    await load.run({ ...ingestCmd, ticks: warmup, firstId });
    firstId += warmup;
    const cpu0 = await quflx.cpuSeconds();
    const meter = await redis.meter();
    const machine = startCpuMeter();
    const ingest = await load.run({ ...ingestCmd, ticks: options.ticks, firstId });
    const machineCpu = machine();
    firstId += options.ticks;
    const span = await meter();
    const cpu1 = await quflx.cpuSeconds();
    if (ingest.type !== 'ingest') throw new Error('unexpected report');
    const i = ingest.result;
    const pct = (ms: number) => (ms / i.wallMs) * 100;
    const known = pct((cpu1 - cpu0) * 1000) + pct(span.cpuUs / 1000) + pct(i.cpuMs) + machineCpu.ownPct;
    const quflxCpuUsPerTick = ((cpu1 - cpu0) * 1e6) / i.accepted;
    const quflxCpuPct = ((cpu1 - cpu0) * 1e5) / i.wallMs;
    const otherCpuPct = Math.max(0, machineCpu.machinePct - known);
    const perTick = (us: number) => us / i.accepted;
    progress(
      `${label}: WORKERS=${workers} HTTP ingest ${fmt(i.accepted)} ticks in ${fmt(i.wallMs)} ms = ${fmt(i.ticksPerS)} ticks/s ` +
        `(batches of ${options.batch}, ${options.connections} connections, ${i.retries} retries); QuFLX CPU ${quflxCpuUsPerTick.toFixed(1)} µs/tick ` +
        `(${fmt(quflxCpuPct)}% of a core), Redis ${perTick(span.cpuUs).toFixed(1)} µs/tick` +
        (span.busiestCpuUs < span.cpuUs ? ` (masters ${perTick(span.mastersCpuUs).toFixed(1)}, busiest server ${perTick(span.busiestCpuUs).toFixed(1)})` : '') +
        `; ` +
        `the load generator ${fmt(pct(i.cpuMs))}%, other processes ${fmt(otherCpuPct)}% of a core`,
    );
    if (otherCpuPct > 25) progress(`${label}: WARNING: other processes used ${fmt(otherCpuPct)}% of a core meanwhile; the comparison is noisy`);
    const latency = await load.run({
      cmd: 'latency',
      url: quflx.url,
      pairs,
      ratePerS: options.e2eRatePerS,
      durationMs: options.e2eMs,
      // Enough connections that requests never queue in the generator at this rate.
      connections: 32,
      subscribers: 2,
      firstId,
      settleMs: 5000,
    });
    if (latency.type !== 'latency') throw new Error('unexpected report');
    const l = latency.result;
    progress(
      `${label}: WORKERS=${workers} e2e at ${fmt(l.sentRatePerS)} ticks/s (one per POST) to 2 subscribers: delivered ${fmt(l.delivered)} of ${fmt(l.expected)} ` +
        `(dup ${l.duplicates}, out of order ${l.outOfOrder}, failed posts ${l.failedPosts}); p50 ${l.latencyMs.p50.toFixed(3)} ms, p99 ${l.latencyMs.p99.toFixed(3)} ms, max ${l.latencyMs.max.toFixed(2)} ms`,
    );
    const warnings = quflx.warnings;
    const exitCode = await quflx.stop();
    quflx = null;
    if (exitCode !== 0) progress(`${label}: QuFLX with WORKERS=${workers} exited with code ${exitCode}`);
    return {
      name,
      workers,
      ingest: i,
      latency: l,
      quflxCpuUsPerTick,
      quflxCpuPct,
      redisUsPerTick: perTick(span.cpuUs),
      redisMastersUsPerTick: perTick(span.mastersCpuUs),
      redisBusiestUsPerTick: perTick(span.busiestCpuUs),
      otherCpuPct,
      logWarnings: warnings,
      exitCode,
    };
  } finally {
    const code = await quflx?.stop();
    if (quflx && code !== 0) progress(`${label}: QuFLX with WORKERS=${workers} exited with code ${code}`);
    await dropSchema(options.env, schema).catch((err: Error) => progress(`could not drop schema ${schema}: ${err.message}`));
    liveSchemas.delete(schema);
  }
}

/** Schemas of runs under way, for dropSchemasLeft. */
const liveSchemas = new Map<string, BenchEnv>();

/** Drops the schemas of runs under way (after SIGINT/SIGTERM, see exitOnSignals; QuFLX is gone by then). */
export async function dropSchemasLeft(): Promise<void> {
  await Promise.all([...liveSchemas].map(([schema, env]) => dropSchema(env, schema).catch(() => undefined)));
}

export async function measureWorkers(options: WorkersOptions): Promise<Record<string, number | boolean>> {
  const dropSignals = exitOnSignals(dropSchemasLeft);
  const redis = await PrivateRedis.start().catch((err: Error) => {
    dropSignals();
    throw err;
  });
  const load = new LoadGenerator();
  const runs = new Map<number, WorkersRun>();
  try {
    await load.ready;
    for (const workers of options.workers) {
      runs.set(workers, await runWorkersConfig(singleNode(redis), load, options, { name: `w${workers}`, label: 'workers', workers }));
    }
  } finally {
    load.close();
    await redis.stop();
    dropSignals();
  }
  const out: Record<string, number | boolean> = {};
  for (const [w, r] of runs) {
    out[`workers${w}_http_ingest_ticks_per_s`] = Math.round(r.ingest.ticksPerS);
    out[`workers${w}_quflx_cpu_us_per_tick`] = round(r.quflxCpuUsPerTick, 1);
    out[`workers${w}_quflx_cpu_pct`] = Math.round(r.quflxCpuPct);
    out[`workers${w}_redis_us_per_tick`] = round(r.redisUsPerTick, 1);
    out[`workers${w}_cpu_other_pct`] = Math.round(r.otherCpuPct);
    out[`workers${w}_e2e_p50_ms`] = round(r.latency.latencyMs.p50);
    out[`workers${w}_e2e_p99_ms`] = round(r.latency.latencyMs.p99);
    out[`workers${w}_e2e_exactly_once_in_order`] = exactlyOnceInOrder(r.latency);
  }
  const one = runs.get(1);
  const two = runs.get(2);
  if (one && two) out.workers_http_ingest_speedup = round(two.ingest.ticksPerS / one.ingest.ticksPerS, 2);
  return out;
}

/** Every tick reached every subscriber once and in seq order, and every POST was accepted. */
export function exactlyOnceInOrder(l: LatencyLoadResult): boolean {
  return l.delivered === l.expected && l.duplicates === 0 && l.outOfOrder === 0 && l.failedPosts === 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const env = benchEnv();
  measureWorkers({ env, pairs: DEFAULT_ASSETS, workers: [1, 2], ...workersSettings() }).then(
    (r) => console.log(JSON.stringify(r)),
    (err: Error) => {
      console.error(err);
      console.log(JSON.stringify({ error: err.message }));
      process.exitCode = 1;
    },
  );
}
