import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';

export interface BacklogWait {
  pending: number;
  waitedMs: number;
  caughtUp: boolean;
}

/**
 * Waits until the persist queue holds fewer than `below` ticks (its count key `<queue>:ticks`; an
 * entry holds one pair's ticks of one micro-batch), i.e. the persister
 * has written what a phase queued, so its database work does not run into the next measurement.
 * Less than one persister batch may stay: that part waits for BATCH_INTERVAL_MS by design.
 */
export async function waitForPersistBacklog(redisUrl: string, queueKey: string, below: number, timeoutMs: number): Promise<BacklogWait> {
  const client = createClient({ url: redisUrl, RESP: 2 });
  client.on('error', () => undefined);
  await client.connect();
  const t0 = performance.now();
  try {
    for (;;) {
      const pending = (await client.xLen(queueKey)) === 0 ? 0 : Number((await client.get(`${queueKey}:ticks`)) ?? 0);
      const waitedMs = performance.now() - t0;
      if (pending < below || waitedMs > timeoutMs) return { pending, waitedMs, caughtUp: pending < below };
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await client.close();
  }
}
