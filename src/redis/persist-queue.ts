import type { RedisClient } from './connection.js';
import type { RedisKeys } from './keys.js';

export interface PersistBacklog {
  /** Accepted ticks not yet stored in the database (entries are deleted once stored). */
  pending: number;
  /** Epoch ms at which the oldest of them was queued; null when none wait. */
  oldestMs: number | null;
}

/** Depth of the persist queue and the age of its head, in one round trip. */
export async function readPersistBacklog(redis: RedisClient, keys: RedisKeys): Promise<PersistBacklog> {
  const [len, first] = (await redis
    .multi()
    .xLen(keys.persistQueue())
    .xRange(keys.persistQueue(), '-', '+', { COUNT: 1 })
    .exec()) as unknown as [number, { id: string }[] | null];
  const head = first?.[0];
  return { pending: Number(len), oldestMs: head ? Number(head.id.split('-')[0]) : null };
}
