import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { findOnPath, freePort, stopProcess } from '../src/lib/processes.js';

const exitHooks = new Set<() => void>();
let exitHookInstalled = false;

/**
 * Runs `fn` when this process exits (normally, on an uncaught error, or through exitOnSignals)
 * unless the returned function is called first: the last resort that keeps a private server or a
 * child QuFLX from outliving the benchmark. `fn` must be synchronous (kill, rmSync).
 */
export function atExit(fn: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const f of exitHooks) {
        try {
          f();
        } catch {
          /* best effort */
        }
      }
    });
  }
  exitHooks.add(fn);
  return () => void exitHooks.delete(fn);
}

/**
 * Until the returned function is called, SIGINT and SIGTERM end this process (exit code 130 or
 * 143) after the atExit hooks (child processes and private servers killed at once) and then
 * `cleanup` (say, dropping schemas; given 5 s at most) have run: without a handler Node dies of
 * the signal and runs no hook, and a private redis-server or QuFLX child would be left running.
 * A second signal exits at once.
 */
export function exitOnSignals(cleanup?: () => Promise<unknown>): () => void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGINT' ? 130 : 143;
    if (stopping) process.exit(code);
    stopping = true;
    console.error(`bench: ${signal}: stopping the private servers and child processes`);
    for (const f of exitHooks) {
      try {
        f();
      } catch {
        /* best effort */
      }
    }
    exitHooks.clear();
    const timeout = new Promise((r) => setTimeout(r, 5000).unref());
    void Promise.race([cleanup?.().catch(() => undefined), timeout]).finally(() => process.exit(code));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** Redis's own CPU time (user + sys, all threads) and per-command time, as INFO reports them. */
export interface RedisCpuSample {
  cpuUs: number;
  /** `cmdstat_<name>` -> calls and usec (time inside the command, without socket I/O). */
  commands: Map<string, { calls: number; usec: number }>;
}

/** What Redis spent between two samples. */
export interface RedisCpuSpan {
  cpuUs: number;
  /** Calls and usec per command, largest usec first. */
  commands: { name: string; calls: number; usec: number }[];
}

/**
 * A redis-server of the benchmark's own: free port, a temporary folder, configured like QuFLX's
 * embedded Redis (append-only file, fsync every second), stopped by its pid. Nothing else talks
 * to it, so its `INFO cpu` is QuFLX's cost alone.
 */
export class PrivateRedis {
  readonly client;
  private readonly dropExitHook: () => void;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    this.client = createClient({ url: this.url, RESP: 2, commandOptions: { timeout: undefined } });
    this.client.on('error', () => undefined);
    this.dropExitHook = atExit(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(binary = process.env.BENCH_REDIS_SERVER || findOnPath('redis-server')): Promise<PrivateRedis> {
    if (!binary) throw new Error('the hot-path phases need a redis-server binary on PATH (or BENCH_REDIS_SERVER)');
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'quflx-bench-redis-'));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''];
    const child = spawn(binary, args, { stdio: 'ignore' });
    const redis = new PrivateRedis(port, dir, child);
    try {
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          await redis.client.connect();
          await redis.client.ping();
          break;
        } catch (err) {
          if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
          if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } catch (err) {
      await redis.stop();
      throw err;
    }
    return redis;
  }

  /** Redis's CPU time so far and its command statistics. */
  async sample(): Promise<RedisCpuSample> {
    const [cpu, stats] = await Promise.all([this.client.info('cpu'), this.client.info('commandstats')]);
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? NaN);
    const commands = new Map<string, { calls: number; usec: number }>();
    for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) commands.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
    return { cpuUs: (field('used_cpu_user') + field('used_cpu_sys')) * 1e6, commands };
  }

  /** Starts measuring; the returned function tells what Redis spent since. */
  async meter(): Promise<() => Promise<RedisCpuSpan>> {
    const a = await this.sample();
    return async () => {
      const b = await this.sample();
      const commands = [...b.commands].map(([name, c]) => {
        const before = a.commands.get(name) ?? { calls: 0, usec: 0 };
        return { name, calls: c.calls - before.calls, usec: c.usec - before.usec };
      });
      return { cpuUs: b.cpuUs - a.cpuUs, commands: commands.filter((c) => c.calls > 0).sort((x, y) => y.usec - x.usec) };
    };
  }

  /** Stops the server by its pid and removes its folder. Idempotent. */
  async stop(): Promise<void> {
    if (this.client.isOpen) this.client.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid) await stopProcess(this.child.pid, 'SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
    this.dropExitHook();
  }
}
