import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { findOnPath, freePort, readPidFile, stopProcess } from '../lib/processes.js';
import type { Logger } from '../observability/logger.js';

export type RedisKind = 'external' | 'redis-server' | 'emulated';

export interface EmbeddedRedis {
  url: string;
  kind: RedisKind;
  close(): Promise<void>;
}

/**
 * Redis for `npm start` without REDIS_URL: a redis-server from PATH on a free port, data and
 * append-only file under `<dataDir>/redis`; where there is none, the in-process emulation.
 */
export async function startEmbeddedRedis(dataDir: string, log: Logger): Promise<EmbeddedRedis> {
  const binary = findOnPath('redis-server');
  if (binary) return startRedisServer(binary, path.resolve(dataDir, 'redis'), log);
  log.warn('no redis-server on PATH: using the in-process Redis emulation (js-redis-server); data is not kept across restarts');
  const { createRedisMock } = await import('js-redis-server');
  const mock = await createRedisMock({ port: 0 } as Parameters<typeof createRedisMock>[0]);
  const addr = mock.addresses()[0] as { host: string; port: number };
  let closed = false;
  return {
    url: `redis://${addr.host}:${addr.port}`,
    kind: 'emulated',
    close: async () => {
      if (closed) return;
      closed = true;
      await mock.close();
    },
  };
}

async function startRedisServer(binary: string, dir: string, log: Logger): Promise<EmbeddedRedis> {
  await mkdir(dir, { recursive: true });
  const pidFile = path.join(dir, 'redis.pid');
  // A redis-server left behind by a crashed QuFLX still owns the append-only file: stop it first.
  const stale = await readPidFile(pidFile);
  if (stale) {
    log.warn({ pid: stale }, 'stopping a redis-server left running by an earlier QuFLX');
    await stopProcess(stale, 'SIGTERM');
  }
  const port = await freePort();
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--pidfile', pidFile,
    '--appendonly', 'yes',
    '--appendfsync', 'everysec',
    '--save', '',
    '--daemonize', 'no',
    '--loglevel', 'notice',
  ];
  // Own process group: a Ctrl+C reaches QuFLX only, and QuFLX stops Redis last, after flushing.
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, windowsHide: true });
  await waitForReady(child, port);
  log.info({ port, dir }, 'embedded redis-server started');
  let closed = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    kind: 'redis-server',
    close: async () => {
      if (closed) return;
      closed = true;
      if (child.exitCode === null && child.pid) await stopProcess(child.pid, 'SIGTERM');
    },
  };
}

function waitForReady(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}: ${output}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with code ${code}: ${output.trim()}`));
    });
  });
}
