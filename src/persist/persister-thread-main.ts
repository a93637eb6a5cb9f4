// The persister thread (see persister-thread.ts): its own Redis and PostgreSQL links, metrics
// sent to the server's registry, started and closed by messages.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Database } from '../db/database.js';
import { createLogger } from '../observability/logger.js';
import { closeRedis, connectRedis } from '../redis/connection.js';
import { keysFor } from '../redis/keys.js';
import { PERSISTER_METRICS, Persister, type PersisterMetrics } from './persister.js';
import type { FromPersisterThread, PersisterThreadOptions, ToPersisterThread } from './persister-thread.js';

const port = parentPort!;
const options = workerData as PersisterThreadOptions;
const post = (m: FromPersisterThread) => port.postMessage(m);
/** The thread's nice value: the lowest (19), so it runs on what the live path leaves (0 is normal). */
const PERSISTER_NICE = 19;

/** Each metric the persister touches, as an object whose inc/set/observe post to the host. */
function forwardedMetrics(): PersisterMetrics {
  const out: Record<string, unknown> = {};
  for (const name of PERSISTER_METRICS) {
    out[name] = {
      inc: (value?: number) => post({ type: 'metric', name, op: 'inc', value }),
      set: (value: number) => post({ type: 'metric', name, op: 'set', value }),
      observe: (value: number) => post({ type: 'metric', name, op: 'observe', value }),
    };
  }
  return out as unknown as PersisterMetrics;
}

const log = createLogger(options.logLevel).child({ thread: 'persister' });
// Behind live ticks when the machine is busy: a backlog waits in Redis, a tick on its way must not.
// On Linux the nice value belongs to the thread (pid 0: the calling thread); elsewhere it would
// slow the whole process, so it is left alone there.
if (process.platform === 'linux') {
  try {
    setPriority(0, PERSISTER_NICE);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'persister thread: could not lower its priority');
  }
}
const keys = keysFor(options.keyPrefix, options.redisTarget);
const redis = await connectRedis(options.redisTarget, 'quflx-persist', log);
const database = new Database(options.databaseUrl, options.databaseKind, log, { queryTimeoutMs: options.queryTimeoutMs });
const persister = new Persister(redis, database.pool, keys, forwardedMetrics(), log, {
  consumer: options.consumer,
  batchIntervalMs: options.batchIntervalMs,
});

port.on('message', (m: ToPersisterThread) => {
  if (m.type === 'start') persister.start();
  else if (m.type === 'close') void close();
});
post({ type: 'ready' });

async function close(): Promise<void> {
  await persister.close();
  await closeRedis(redis);
  await database.close();
  post({ type: 'closed' });
  port.close();
}
