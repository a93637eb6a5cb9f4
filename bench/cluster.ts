/**
 * The CLUSTER phase of `npm run bench`: the WORKERS measurement (bench/workers.ts: `npm start` in
 * a child process, HTTP ingest and tick-to-subscriber latency from a load generator in another
 * process, QuFLX's and Redis's CPU per tick) on Redis servers of the benchmark's own, in one run:
 * - `single_w1`, `single_w2`: one redis-server, WORKERS=1 (this phase's baseline) and WORKERS=2;
 * - `cluster_w1`, `cluster_w2`: a Redis Cluster of 3 masters with a replica each
 *   (test/helpers/redis-cluster.ts), REDIS_URL the comma-separated list of its nodes;
 * - `cluster_wait1_w1`: the same cluster with REDIS_WAIT_REPLICAS=1 (each ingest script call
 *   counts once WAIT says a replica has it, and the ticks are published after), WORKERS=1.
 * Every server runs with an append-only file fsynced every second. Each run is reported as figures
 * and as ratios to `single_w1` (`*_vs_single_w1`: above 1 is more ticks/s, more latency, more CPU);
 * `cluster_wait1_w1_*_vs_cluster_w1` is what REDIS_WAIT_REPLICAS=1 costs on the same cluster.
 * A run that fails is reported as `<run>_error` and the others still run; every server and
 * QuFLX process is stopped at the end, on failure, and on SIGINT/SIGTERM.
 *
 * Sizes: BENCH_CLUSTER_TICKS (HTTP ingest per run, default 60,000), BENCH_CLUSTER_E2E_RATE and
 * BENCH_CLUSTER_E2E_MS (the latency run, default 1,000 ticks/s for 5 s), BENCH_CLUSTER_MASTERS and
 * BENCH_CLUSTER_REPLICAS (default 3 and 1); batch size and connections as the WORKERS phase's
 * (BENCH_WORKERS_BATCH, BENCH_WORKERS_CONNECTIONS).
 *
 * Run alone: `npx tsx bench/cluster.ts` (its last line is a JSON object).
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createClient } from 'redis';
import { DEFAULT_ASSETS } from '../src/config/config.js';
import { RedisCluster } from '../test/helpers/redis-cluster.js';
import { exitOnSignals, PrivateRedis } from './private-redis.js';
import { progress } from './progress.js';
import { benchEnv, intSetting } from './setup.js';
import { round } from './stats.js';
import {
  dropSchemasLeft,
  exactlyOnceInOrder,
  LoadGenerator,
  runWorkersConfig,
  singleNode,
  workersSettings,
  type BenchRedis,
  type RedisSpend,
  type WorkersConfig,
  type WorkersLoad,
  type WorkersRun,
} from './workers.js';

export interface ClusterOptions extends WorkersLoad {
  masters: number;
  replicasPerMaster: number;
}

export function clusterSettings(): Omit<ClusterOptions, 'env' | 'pairs'> {
  const w = workersSettings();
  return {
    ticks: intSetting('BENCH_CLUSTER_TICKS', 60_000),
    batch: w.batch,
    connections: w.connections,
    e2eRatePerS: intSetting('BENCH_CLUSTER_E2E_RATE', 1_000),
    e2eMs: intSetting('BENCH_CLUSTER_E2E_MS', 5_000),
    masters: intSetting('BENCH_CLUSTER_MASTERS', 3),
    replicasPerMaster: intSetting('BENCH_CLUSTER_REPLICAS', 1),
  };
}

const nodeClient = (url: string) => createClient({ url, RESP: 2, socket: { reconnectStrategy: false } });
type RedisClient = ReturnType<typeof nodeClient>;

/** A private Redis Cluster as a BenchRedis: CPU is summed over its nodes from each one's `INFO`. */
class ClusterRedis implements BenchRedis {
  private constructor(
    readonly url: string,
    private readonly clients: RedisClient[],
  ) {}

  static async open(cluster: RedisCluster): Promise<ClusterRedis> {
    const clients: RedisClient[] = [];
    try {
      for (const url of cluster.urls) {
        const c = nodeClient(url);
        c.on('error', () => undefined);
        clients.push(c);
        await c.connect();
      }
    } catch (err) {
      for (const c of clients) if (c.isOpen) c.destroy();
      throw err;
    }
    return new ClusterRedis(cluster.url, clients);
  }

  /** Every node's CPU so far (µs) and whether it is a master now. */
  private sample(): Promise<{ cpuUs: number; master: boolean }[]> {
    return Promise.all(
      this.clients.map(async (c) => {
        const [cpu, repl] = await Promise.all([c.info('cpu'), c.info('replication')]);
        const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? NaN);
        return { cpuUs: (field('used_cpu_user') + field('used_cpu_sys')) * 1e6, master: /^role:master/m.test(repl) };
      }),
    );
  }

  async meter(): Promise<() => Promise<RedisSpend>> {
    const a = await this.sample();
    return async () => {
      const b = await this.sample();
      const spent = b.map((n, i) => ({ cpuUs: n.cpuUs - a[i]!.cpuUs, master: n.master }));
      return {
        cpuUs: spent.reduce((s, n) => s + n.cpuUs, 0),
        mastersCpuUs: spent.filter((n) => n.master).reduce((s, n) => s + n.cpuUs, 0),
        busiestCpuUs: Math.max(...spent.map((n) => n.cpuUs)),
      };
    };
  }

  close(): void {
    for (const c of this.clients) if (c.isOpen) c.destroy();
  }
}

const BASELINE = 'single_w1';

/** A run's figures, and its ratios to `base` (suffix `_vs_<base name>`) when given. */
function figures(r: WorkersRun, base?: WorkersRun): Record<string, number | boolean> {
  const n = r.name;
  const out: Record<string, number | boolean> = {
    [`${n}_http_ingest_ticks_per_s`]: Math.round(r.ingest.ticksPerS),
    [`${n}_quflx_cpu_us_per_tick`]: round(r.quflxCpuUsPerTick, 1),
    [`${n}_quflx_cpu_pct`]: Math.round(r.quflxCpuPct),
    [`${n}_redis_us_per_tick`]: round(r.redisUsPerTick, 1),
    [`${n}_redis_masters_us_per_tick`]: round(r.redisMastersUsPerTick, 1),
    [`${n}_redis_busiest_us_per_tick`]: round(r.redisBusiestUsPerTick, 1),
    [`${n}_cpu_other_pct`]: Math.round(r.otherCpuPct),
    [`${n}_e2e_p50_ms`]: round(r.latency.latencyMs.p50),
    [`${n}_e2e_p99_ms`]: round(r.latency.latencyMs.p99),
    [`${n}_e2e_exactly_once_in_order`]: exactlyOnceInOrder(r.latency),
    [`${n}_log_warnings`]: r.logWarnings,
    [`${n}_stopped_in_order`]: r.exitCode === 0,
  };
  return base ? { ...out, ...ratios(r, base) } : out;
}

function ratios(r: WorkersRun, base: WorkersRun): Record<string, number> {
  const k = `${r.name}_%_vs_${base.name}`;
  const q = (a: number, b: number) => round(a / b, 2);
  return {
    [k.replace('%', 'ingest')]: q(r.ingest.ticksPerS, base.ingest.ticksPerS),
    [k.replace('%', 'e2e_p50')]: q(r.latency.latencyMs.p50, base.latency.latencyMs.p50),
    [k.replace('%', 'e2e_p99')]: q(r.latency.latencyMs.p99, base.latency.latencyMs.p99),
    [k.replace('%', 'quflx_cpu')]: q(r.quflxCpuUsPerTick, base.quflxCpuUsPerTick),
    [k.replace('%', 'redis_cpu')]: q(r.redisUsPerTick, base.redisUsPerTick),
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;

export async function measureCluster(options: ClusterOptions): Promise<Record<string, number | boolean | string>> {
  const t0 = performance.now();
  const dropSignals = exitOnSignals(dropSchemasLeft);
  const load = new LoadGenerator();
  const runs = new Map<string, WorkersRun>();
  const errors: Record<string, string> = {};
  const fail = (name: string, err: unknown) => {
    const message = (err as Error).message ?? String(err);
    errors[`${name}_error`] = message;
    progress(`${name}: FAILED: ${message}`);
  };
  const attempt = async (redis: BenchRedis, config: WorkersConfig) => {
    try {
      runs.set(config.name, await runWorkersConfig(redis, load, options, config));
    } catch (err) {
      fail(config.name, err);
    }
  };
  try {
    await load.ready;

    let single: PrivateRedis | null = null;
    try {
      single = await PrivateRedis.start();
      progress(`cluster phase: single-node redis-server at ${single.url}`);
      await attempt(singleNode(single), { name: 'single_w1', workers: 1 });
      await attempt(singleNode(single), { name: 'single_w2', workers: 2 });
    } catch (err) {
      fail('single', err);
    } finally {
      await single?.stop();
    }

    let cluster: RedisCluster | null = null;
    let redis: ClusterRedis | null = null;
    try {
      const started = performance.now();
      // A longer node timeout than the tests': no failover because a node was starved of CPU for a moment.
      cluster = await RedisCluster.start({ masters: options.masters, replicasPerMaster: options.replicasPerMaster, nodeTimeoutMs: 5000 });
      progress(`cluster phase: Redis Cluster of ${options.masters} masters with ${options.replicasPerMaster} replica(s) each ready in ${fmt(performance.now() - started)} ms (${cluster.ports.join(', ')})`);
      redis = await ClusterRedis.open(cluster);
      await attempt(redis, { name: 'cluster_w1', workers: 1 });
      await attempt(redis, { name: 'cluster_w2', workers: 2 });
      await attempt(redis, { name: 'cluster_wait1_w1', workers: 1, env: { REDIS_WAIT_REPLICAS: '1' } });
    } catch (err) {
      fail('cluster', err);
    } finally {
      redis?.close();
      await cluster?.stop();
    }
  } finally {
    load.close();
    dropSignals();
  }

  const out: Record<string, number | boolean | string> = {
    cluster_phase_ticks: options.ticks,
    cluster_phase_e2e_rate_per_s: options.e2eRatePerS,
    cluster_phase_e2e_ms: options.e2eMs,
    cluster_phase_layout: `${options.masters}x${1 + options.replicasPerMaster}`,
  };
  const base = runs.get(BASELINE);
  for (const r of runs.values()) Object.assign(out, figures(r, r === base ? undefined : base));
  const clusterW1 = runs.get('cluster_w1');
  const wait = runs.get('cluster_wait1_w1');
  if (clusterW1 && wait) Object.assign(out, ratios(wait, clusterW1));
  Object.assign(out, errors);
  out.cluster_phase_ms = Math.round(performance.now() - t0);

  const line = (r: WorkersRun) => {
    const vs = base && r !== base ? ` = ${(r.ingest.ticksPerS / base.ingest.ticksPerS).toFixed(2)}x` : '';
    return (
      `${r.name.padEnd(16)} ${fmt(r.ingest.ticksPerS).padStart(7)} ticks/s${vs.padEnd(9)}; e2e p50 ${r.latency.latencyMs.p50.toFixed(2)} ms, p99 ${r.latency.latencyMs.p99.toFixed(2)} ms; ` +
      `QuFLX ${r.quflxCpuUsPerTick.toFixed(1)} µs/tick, Redis ${r.redisUsPerTick.toFixed(1)} µs/tick (busiest server ${r.redisBusiestUsPerTick.toFixed(1)}); other processes ${fmt(r.otherCpuPct)}% of a core`
    );
  };
  progress(`cluster phase summary (ratios to ${BASELINE}), ${fmt(out.cluster_phase_ms)} ms:`);
  for (const r of runs.values()) progress(`  ${line(r)}`);
  if (clusterW1 && wait) {
    progress(
      `  REDIS_WAIT_REPLICAS=1 on the cluster: ingest ${(wait.ingest.ticksPerS / clusterW1.ingest.ticksPerS).toFixed(2)}x, ` +
        `e2e p50 ${signed(wait.latency.latencyMs.p50 - clusterW1.latency.latencyMs.p50)} ms, p99 ${signed(wait.latency.latencyMs.p99 - clusterW1.latency.latencyMs.p99)} ms, ` +
        `QuFLX CPU ${(wait.quflxCpuUsPerTick / clusterW1.quflxCpuUsPerTick).toFixed(2)}x, Redis CPU ${(wait.redisUsPerTick / clusterW1.redisUsPerTick).toFixed(2)}x (against cluster_w1)`,
    );
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const env = benchEnv();
  measureCluster({ env, pairs: DEFAULT_ASSETS, ...clusterSettings() }).then(
    (r) => console.log(JSON.stringify(r)),
    (err: Error) => {
      console.error(err);
      console.log(JSON.stringify({ error: err.message }));
      process.exitCode = 1;
    },
  );
}
