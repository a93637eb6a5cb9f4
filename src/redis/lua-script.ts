import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisClient } from './connection.js';

/**
 * A Lua script made of files in scripts/ (a shared library first), run by EVALSHA with a fall
 * back to EVAL when Redis has lost its script cache (a restart).
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(...files: string[]) {
    this.source = files.map((f) => readFileSync(new URL(`./scripts/${f}`, import.meta.url), 'utf8')).join('\n');
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }

  async run(redis: RedisClient, keys: string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await redis.sendCommand(['EVALSHA', this.sha, ...tail]);
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
      return await redis.sendCommand(['EVAL', this.source, ...tail]);
    }
  }
}
