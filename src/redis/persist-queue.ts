import type { SeqTick } from '../core/tick.js';
import type { RedisClient } from './connection.js';
import { PERSIST_GROUP, type RedisKeys } from './keys.js';

export interface PersistBacklog {
  /** Accepted ticks not yet stored in the database (their entries are trimmed once stored). */
  pending: number;
  /** Epoch ms at which the oldest of them was queued; null when none wait. */
  oldestMs: number | null;
}

/** Ticks waiting in the persist queues and the age of the oldest head, one round trip per queue (in parallel). */
export async function readPersistBacklog(redis: RedisClient, keys: RedisKeys): Promise<PersistBacklog> {
  const each = await Promise.all(
    keys.persistQueues().map(async (queue) => {
      const [ticks, first] = (await redis
        .multi()
        .get(keys.persistQueueCount(queue))
        .xRange(queue, '-', '+', { COUNT: 1 })
        .exec()) as unknown as [string | null, { id: string }[] | null];
      const head = first?.[0];
      return { pending: head ? Math.max(0, Number(ticks ?? 0)) : 0, oldestMs: head ? Number(head.id.split('-')[0]) : null };
    }),
  );
  const heads = each.map((b) => b.oldestMs).filter((t): t is number => t !== null);
  return { pending: each.reduce((n, b) => n + b.pending, 0), oldestMs: heads.length > 0 ? Math.min(...heads) : null };
}

/** A queue entry as XREADGROUP gives it: its id and its fields (t: the ticks' JSON, n: how many). */
export interface QueueMessage {
  id: string;
  message: Record<string, string>;
}

/** The entries of an XREADGROUP reply that read one stream (none: null or an empty list). */
export function readMessages(reply: unknown): QueueMessage[] {
  return (reply as { messages: QueueMessage[] }[] | null)?.[0]?.messages ?? [];
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

/** Creates the stream and its consumer group `group` (reading from the start) when missing. */
export async function ensureConsumerGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  try {
    await redis.xGroupCreate(stream, group, '0', { MKSTREAM: true });
  } catch (err) {
    if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
  }
}

/** Creates every persist queue with the persister's consumer group when missing. */
export async function ensurePersistGroups(redis: RedisClient, keys: RedisKeys): Promise<void> {
  for (const queue of keys.persistQueues()) await ensureConsumerGroup(redis, queue, PERSIST_GROUP);
}
