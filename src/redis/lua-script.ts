import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sendRaw, type RedisClient } from './connection.js';

/**
 * A Lua script made of files in scripts/ (a shared library first), run by EVALSHA with a fall
 * back to EVAL when Redis has lost its script cache (a restart, or a cluster node that never ran
 * it). On a cluster the call goes to the master of the first key's slot; every key passed must
 * share that slot.
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(...files: string[]) {
    this.source = files.map((f) => readFileSync(new URL(`./scripts/${f}`, import.meta.url), 'utf8')).join('\n');
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }

  async run(redis: RedisClient, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    // One array for the whole command: ingest batches carry thousands of arguments.
    const cmd = new Array<string>(3 + keys.length + args.length);
    cmd[0] = 'EVALSHA';
    cmd[1] = this.sha;
    cmd[2] = String(keys.length);
    for (let i = 0; i < keys.length; i++) cmd[3 + i] = keys[i]!;
    for (let i = 0; i < args.length; i++) cmd[3 + keys.length + i] = args[i]!;
    try {
      return await sendRaw(redis, keys[0], cmd);
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
      cmd[0] = 'EVAL';
      cmd[1] = this.source;
      return await sendRaw(redis, keys[0], cmd);
    }
  }
}
