/**
 * The WORKERS phase of `npm run bench`: QuFLX started as `npm start` starts it (src/main.ts in a
 * child process), with WORKERS=1 and then WORKERS=2, against a redis-server of the benchmark's
 * own, each with its own key prefix and schema. A load generator in another process
 * (bench/workers-load.ts) measures HTTP ingest throughput (batches over keep-alive connections,
 * which node:cluster spreads over the workers) and tick-to-subscriber latency (single ticks POSTed
 * at a steady rate, Socket.IO subscribers on the workers). QuFLX's CPU per tick is the growth of
 * `quflx_process_cpu_seconds_total` over every process (workers and primary) in its /metrics.
 *
 * Run alone: `npx tsx bench/workers.ts` (its last line is a JSON object too).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_ASSETS } from '../src/config/config.js';
import { startCpuMeter } from './cpu-meter.js';
import { PrivateRedis } from './private-redis.js';
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
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static start(env: Record<string, string>): Promise<QuflxProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
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
          if ((entry.level ?? 0) >= 50) process.stderr.write(`quflx: ${line}\n`);
          if (entry.msg === 'QuFLX is running') {
            clearTimeout(timer);
            resolve(new QuflxProcess(child, entry.url!));
          }
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`QuFLX exited (code ${code}) before it ran`));
      });
    });
  }

  /** Ctrl+C; resolves with the exit code. */
  stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
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
class LoadGenerator {
  private readonly child = fork(path.join(ROOT, 'bench/workers-load.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  /** Resolves once the process has loaded and listens for commands. */
  readonly ready = new Promise<void>((resolve, reject) => {
    this.child.once('message', () => resolve());
    this.child.once('exit', (code) => reject(new Error(`the load generator exited (code ${code})`)));
  });

  run(cmd: Exclude<LoadCommand, { cmd: 'exit' }>): Promise<LoadReport> {
    return new Promise((resolve, reject) => {
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

interface WorkersRun {
  ingest: IngestLoadResult;
  latency: LatencyLoadResult;
  quflxCpuUsPerTick: number;
  /** QuFLX's processes' CPU during the ingest run, in percent of one core (WORKERS=2 can use 200). */
  quflxCpuPct: number;
  redisUsPerTick: number;
  /** What else ran during the ingest run (the machine's busy time less QuFLX, Redis and the load generator), percent of one core. */
  otherCpuPct: number;
}

export async function measureWorkers(options: WorkersOptions): Promise<Record<string, number | boolean>> {
  const redis = await PrivateRedis.start();
  const load = new LoadGenerator();
  await load.ready;
  const runs = new Map<number, WorkersRun>();
  // Ticks of every phase get ids of their own: nothing is ever a duplicate.
  let firstId = 1;
  try {
    for (const workers of options.workers) {
      const schema = `${options.env.schema}_w${workers}`;
      const databaseUrl = await createSchema(options.env, schema);
      let quflx: QuflxProcess | null = null;
      try {
        quflx = await QuflxProcess.start({
          WORKERS: String(workers),
          PORT: '0',
          HOST: '127.0.0.1',
          REDIS_URL: redis.url,
          DATABASE_URL: databaseUrl,
          REDIS_KEY_PREFIX: `${options.env.prefix}w${workers}:`,
          PERSIST_CONSUMER: `${options.env.consumer}-w${workers}`,
          FEED: 'none',
          LOG_LEVEL: 'info',
        });
        progress(`workers: QuFLX with WORKERS=${workers} at ${quflx.url}`);
        const pairs = [...options.pairs];
        const ingestCmd = { cmd: 'ingest' as const, url: quflx.url, pairs, batch: options.batch, connections: options.connections };
        await load.run({ ...ingestCmd, ticks: Math.ceil(options.ticks / 10), firstId });
        firstId += options.ticks;
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
        const run: WorkersRun = {
          ingest: i,
          quflxCpuUsPerTick: ((cpu1 - cpu0) * 1e6) / i.accepted,
          quflxCpuPct: ((cpu1 - cpu0) * 1e5) / i.wallMs,
          redisUsPerTick: span.cpuUs / i.accepted,
          otherCpuPct: Math.max(0, machineCpu.machinePct - known),
          latency: undefined as unknown as LatencyLoadResult,
        };
        progress(
          `workers: WORKERS=${workers} HTTP ingest ${fmt(i.accepted)} ticks in ${fmt(i.wallMs)} ms = ${fmt(i.ticksPerS)} ticks/s ` +
            `(batches of ${options.batch}, ${options.connections} connections, ${i.retries} retries); QuFLX CPU ${run.quflxCpuUsPerTick.toFixed(1)} µs/tick ` +
            `(${fmt(run.quflxCpuPct)}% of a core), Redis ${run.redisUsPerTick.toFixed(1)} µs/tick; the load generator ${fmt(pct(i.cpuMs))}%, other processes ${fmt(run.otherCpuPct)}% of a core`,
        );
        if (run.otherCpuPct > 25) progress(`workers: WARNING: other processes used ${fmt(run.otherCpuPct)}% of a core meanwhile; the comparison is noisy`);
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
        firstId += options.e2eRatePerS * (options.e2eMs / 1000) + 1;
        if (latency.type !== 'latency') throw new Error('unexpected report');
        run.latency = latency.result;
        const l = latency.result;
        progress(
          `workers: WORKERS=${workers} e2e at ${fmt(l.sentRatePerS)} ticks/s (one per POST) to 2 subscribers: delivered ${fmt(l.delivered)} of ${fmt(l.expected)} ` +
            `(dup ${l.duplicates}, out of order ${l.outOfOrder}, failed posts ${l.failedPosts}); p50 ${l.latencyMs.p50.toFixed(3)} ms, p99 ${l.latencyMs.p99.toFixed(3)} ms, max ${l.latencyMs.max.toFixed(2)} ms`,
        );
        runs.set(workers, run);
      } finally {
        const code = await quflx?.stop();
        if (quflx && code !== 0) progress(`workers: QuFLX with WORKERS=${workers} exited with code ${code}`);
        await dropSchema(options.env, schema).catch((err: Error) => progress(`could not drop schema ${schema}: ${err.message}`));
      }
    }
  } finally {
    load.close();
    await redis.stop();
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
    const l = r.latency;
    out[`workers${w}_e2e_exactly_once_in_order`] = l.delivered === l.expected && l.duplicates === 0 && l.outOfOrder === 0 && l.failedPosts === 0;
  }
  const one = runs.get(1);
  const two = runs.get(2);
  if (one && two) out.workers_http_ingest_speedup = round(two.ingest.ticksPerS / one.ingest.ticksPerS, 2);
  return out;
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
