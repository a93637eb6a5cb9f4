import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Runs a TypeScript file of the repo in a child Node (through tsx) and collects its stdout lines. */
export class Child {
  readonly lines: string[] = [];
  readonly process: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(file: string, env: Record<string, string>) {
    this.process = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    this.process.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      this.lines.push(...parts);
    });
    this.process.stderr!.on('data', (chunk: Buffer) => {
      if (process.env.TEST_CHILD_STDERR) process.stderr.write(chunk);
    });
    this.exited = new Promise((resolve) => this.process.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first line matching `pattern`. */
  async waitForLine(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.find((l) => pattern.test(l));
      if (line) return line;
      if (this.process.exitCode !== null) throw new Error(`child exited (${this.process.exitCode}) before printing ${pattern}`);
      if (Date.now() > deadline) throw new Error(`child did not print ${pattern} in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal);
    return this.exited;
  }

  wait(): Promise<number | null> {
    return this.exited;
  }
}

/** The environment of a QuFLX server child (src/main.ts) on the test Redis under `prefix`, any free port, no feed, logs at info. */
export function serverEnv(redisUrl: string, prefix: string, databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    DATABASE_URL: databaseUrl,
    FEED: 'none',
    LOG_LEVEL: 'info',
    ...extra,
  };
}
