import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { freePort } from '../../src/lib/processes.js';

/**
 * A redis-server of the test's own (real binary, own port and folder) that the test can kill
 * with SIGKILL and start again on the same port with its append-only file.
 */
export class RedisProcess {
  private child: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly fsync: 'always' | 'everysec',
  ) {}

  static async start(fsync: 'always' | 'everysec' = 'always'): Promise<RedisProcess> {
    const r = new RedisProcess(await freePort(), mkdtempSync(path.join(tmpdir(), 'quflx-redis-')), fsync);
    await r.startServer();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async startServer(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', this.fsync, '--save', ''],
      { stdio: 'ignore' },
    );
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const c = createClient({ url: this.url, RESP: 2, socket: { reconnectStrategy: false } });
      c.on('error', () => undefined);
      try {
        await c.connect();
        // Loading the AOF answers LOADING; wait until it takes commands.
        await c.ping();
        await c.close();
        return;
      } catch {
        if (c.isOpen) c.destroy();
        if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** SIGSTOP: the server stalls with every connection left open (the kernel still takes bytes). */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT: the server answers what waited. */
  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /** SIGKILL: no shutdown, no final fsync. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    this.child = null;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
