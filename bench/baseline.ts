import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import { toSymbol } from '../src/core/pair.js';
import { validateTickBatch } from '../src/core/tick-validation.js';
import { paced, sleep } from './spans.js';
import type { TickFactory } from './tick-factory.js';

export interface BaselineOptions {
  redisUrl: string;
  /** Key prefix of the run; the baseline's keys live under `<prefix>baseline:`. */
  prefix: string;
  ticks: number;
  /** Cap of the recent list (the seed's LTRIM 0 999). */
  bufferSize?: number;
}

export interface BaselineResult {
  ticks: number;
  wallMs: number;
  ticksPerS: number;
}

/**
 * The seed's naive ingest, as the baseline: per tick, one awaited command at a time:
 * LPUSH ticks:<SYM> json, LTRIM ticks:<SYM> 0 999, PUBLISH updates:<SYM> json.
 * Ticks are validated the same way as in QuFLX's path, so only the Redis side differs.
 */
export async function measureBaseline(factory: TickFactory, options: BaselineOptions): Promise<BaselineResult> {
  const cap = options.bufferSize ?? 1000;
  const keyPrefix = `${options.prefix}baseline:`;
  const raw = factory.batch(options.ticks);
  // No per-command timeout, like QuFLX's own connection: node-redis's default (5 s) costs an
  // AbortSignal timer per command, which would make the baseline look slower than its design is.
  const client = createClient({ url: options.redisUrl, RESP: 2, commandOptions: { timeout: undefined } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const t0 = performance.now();
    for (const r of raw) {
      const [tick] = validateTickBatch(r, Date.now());
      const sym = toSymbol(tick!.pair);
      const json = JSON.stringify(tick);
      await client.lPush(`${keyPrefix}ticks:${sym}`, json);
      await client.lTrim(`${keyPrefix}ticks:${sym}`, 0, cap - 1);
      await client.publish(`${keyPrefix}updates:${sym}`, json);
    }
    const wallMs = performance.now() - t0;
    return { ticks: raw.length, wallMs, ticksPerS: raw.length / (wallMs / 1000) };
  } finally {
    await client.close();
  }
}

export interface BaselineRateOptions {
  redisUrl: string;
  prefix: string;
  pairs: readonly string[];
  ratePerS: number;
  durationMs: number;
  bufferSize?: number;
}

/**
 * The seed's design at a live rate, for Redis's CPU per tick at the working point: ticks come due
 * at `ratePerS`, each stored with the seed's three commands, one awaited at a time, while a
 * pub/sub subscriber (the seed's fan-out) follows the channels. Resolves once it got every message.
 */
export async function measureBaselineAtRate(factory: TickFactory, options: BaselineRateOptions): Promise<{ sent: number; received: number; wallMs: number }> {
  const cap = options.bufferSize ?? 1000;
  const keyPrefix = `${options.prefix}baseline:`;
  const client = createClient({ url: options.redisUrl, RESP: 2, commandOptions: { timeout: undefined } });
  const sub = client.duplicate();
  client.on('error', () => undefined);
  sub.on('error', () => undefined);
  await client.connect();
  await sub.connect();
  let received = 0;
  try {
    await sub.subscribe(
      options.pairs.map((p) => `${keyPrefix}updates:${toSymbol(p)}`),
      () => void received++,
    );
    let chain = Promise.resolve();
    const run = await paced(options.ratePerS, options.durationMs, (n, before) => {
      for (const r of factory.batch(n, before)) {
        chain = chain.then(async () => {
          const [tick] = validateTickBatch(r, Date.now());
          const sym = toSymbol(tick!.pair);
          const json = JSON.stringify(tick);
          await client.lPush(`${keyPrefix}ticks:${sym}`, json);
          await client.lTrim(`${keyPrefix}ticks:${sym}`, 0, cap - 1);
          await client.publish(`${keyPrefix}updates:${sym}`, json);
        });
      }
    });
    await chain;
    const deadline = performance.now() + 5000;
    while (received < run.sent && performance.now() < deadline) await sleep(10);
    return { sent: run.sent, received, wallMs: run.wallMs };
  } finally {
    await sub.close();
    await client.close();
  }
}
