import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.js';
import type { DatabaseKind } from '../db/database.js';
import { startEmbeddedPostgres } from '../db/embedded-postgres.js';
import { isAlive } from '../lib/processes.js';
import type { Logger } from '../observability/logger.js';
import { startEmbeddedRedis, type RedisKind } from '../redis/embedded-redis.js';

/** Where Redis and PostgreSQL are for this process, and how to let go of them. */
export interface Services {
  redisUrl: string;
  redisKind: RedisKind;
  databaseUrl: string;
  databaseKind: DatabaseKind;
  close(): Promise<void>;
}

interface RuntimeFile {
  pid: number;
  redisUrl?: string;
  redisKind?: RedisKind;
  databaseUrl?: string;
}

const runtimePath = (dataDir: string) => path.resolve(dataDir, 'runtime.json');

async function readRuntime(dataDir: string): Promise<RuntimeFile | null> {
  try {
    const file = JSON.parse(await readFile(runtimePath(dataDir), 'utf8')) as RuntimeFile;
    return file.pid !== process.pid && isAlive(file.pid) ? file : null;
  } catch {
    return null;
  }
}

/**
 * The URLs from the config, and embedded servers for those that are unset. One process owns the
 * embedded servers of a data folder, recorded in `<dataDir>/runtime.json`: a second server is
 * refused, while a tool (the CLI) borrows the running ones instead of starting its own.
 */
export async function openServices(config: Config, log: Logger, role: 'server' | 'tool', needs: { redis?: boolean } = {}): Promise<Services> {
  // A tool that reads only the database (export, db stats) starts no Redis: its redisUrl is then ''.
  const wantRedis = needs.redis ?? true;
  let redisUrl = config.redisUrl ?? (wantRedis ? undefined : '');
  let redisKind: RedisKind = 'external';
  let databaseUrl = config.databaseUrl;
  let databaseKind: DatabaseKind = 'external';
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch((err) => log.warn({ err }, 'error while stopping a service'));
  };
  if (redisUrl !== undefined && databaseUrl) return { redisUrl, redisKind, databaseUrl, databaseKind, close };

  const owner = await readRuntime(config.dataDir);
  if (owner) {
    if (role === 'server') {
      throw new Error(
        `QuFLX already runs from ${path.resolve(config.dataDir)} (pid ${owner.pid}); stop it first, or set REDIS_URL and DATABASE_URL`,
      );
    }
    log.info({ pid: owner.pid }, 'using the embedded servers of the running QuFLX');
    if (!redisUrl && owner.redisUrl) redisUrl = owner.redisUrl;
    if (!config.redisUrl && owner.redisKind) redisKind = owner.redisKind;
    if (!databaseUrl && owner.databaseUrl) {
      databaseUrl = owner.databaseUrl;
      databaseKind = 'embedded';
    }
    if (redisUrl !== undefined && databaseUrl) return { redisUrl, redisKind, databaseUrl, databaseKind, close };
  }

  try {
    if (redisUrl === undefined) {
      const embedded = await startEmbeddedRedis(config.dataDir, log);
      closers.push(() => embedded.close());
      redisUrl = embedded.url;
      redisKind = embedded.kind;
    }
    if (!databaseUrl) {
      const embedded = await startEmbeddedPostgres(config.dataDir, log);
      closers.push(() => embedded.close());
      databaseUrl = embedded.url;
      databaseKind = 'embedded';
    }
    await mkdir(path.resolve(config.dataDir), { recursive: true });
    const runtime: RuntimeFile = { pid: process.pid, redisUrl, redisKind, databaseUrl };
    await writeFile(runtimePath(config.dataDir), JSON.stringify(runtime, null, 2));
    closers.unshift(() => rm(runtimePath(config.dataDir), { force: true }));
  } catch (err) {
    await close();
    throw err;
  }
  return { redisUrl, redisKind, databaseUrl, databaseKind, close };
}

/** What a worker of WORKERS=N needs to reach the servers the primary opened (JSON across the fork). */
export interface HandedServices {
  redisUrl: string;
  redisKind: RedisKind;
  databaseUrl: string;
  databaseKind: DatabaseKind;
}

/** The primary's services as it hands them to its workers; it alone starts, records and stops them. */
export function handOver(services: Services): HandedServices {
  const { redisUrl, redisKind, databaseUrl, databaseKind } = services;
  return { redisUrl, redisKind, databaseUrl, databaseKind };
}

/** A worker's view of the primary's services: the same servers, and nothing to stop (the primary stops them last). */
export function takeOver(handed: HandedServices): Services {
  return { ...handed, close: async () => undefined };
}
