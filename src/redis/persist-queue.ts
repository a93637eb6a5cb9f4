import type { SeqTick } from '../core/tick.js';
import type { RedisClient } from './connection.js';
import type { RedisKeys } from './keys.js';

export interface PersistBacklog {
  /** Accepted ticks not yet stored in the database (their entries are trimmed once stored). */
  pending: number;
  /** Epoch ms at which the oldest of them was queued; null when none wait. */
  oldestMs: number | null;
}

/** Ticks waiting in the persist queue and the age of its head, in one round trip. */
export async function readPersistBacklog(redis: RedisClient, keys: RedisKeys): Promise<PersistBacklog> {
  const [ticks, first] = (await redis
    .multi()
    .get(keys.persistQueueTicks())
    .xRange(keys.persistQueue(), '-', '+', { COUNT: 1 })
    .exec()) as unknown as [string | null, { id: string }[] | null];
  const head = first?.[0];
  return { pending: head ? Math.max(0, Number(ticks ?? 0)) : 0, oldestMs: head ? Number(head.id.split('-')[0]) : null };
}

/**
 * The ticks of one queue entry: the ingest script writes a JSON array per pair and micro-batch;
 * a single tick object is read too. Null for text that is not JSON (the persister sets it aside).
 */
export function parseQueueEntry(raw: string): SeqTick[] | null {
  try {
    const parsed = JSON.parse(raw) as SeqTick | SeqTick[];
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    return null;
  }
}
