import { request } from 'node:http';
import { isAlive } from '../../src/lib/processes.js';
import { Child } from './child.js';

/** A log line of the child (pino JSON), or null for anything else. */
function parse(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** `npm start` with WORKERS=N as a child process (`src/main.ts` through tsx): the primary and its workers. */
export class WorkersChild {
  readonly child: Child;
  url = '';

  constructor(env: Record<string, string>) {
    this.child = new Child('src/main.ts', { LOG_LEVEL: 'info', ...env });
  }

  /**
   * Resolves with the URL once the primary says every worker serves, and each worker's own
   * "worker is running" line is in (a worker's line may reach the output after the primary's).
   */
  async running(timeoutMs = 90_000): Promise<string> {
    const line = await this.child.waitForLine(/"msg":"QuFLX is running"/, timeoutMs);
    const info = parse(line)!;
    this.url = info.url as string;
    const workers = Number(info.workers ?? 0);
    const deadline = Date.now() + 10_000;
    while (this.logs('worker is running').length < workers) {
      if (Date.now() > deadline) throw new Error(`the primary said ${workers} workers run; ${this.logs('worker is running').length} said so in 10 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.url;
  }

  get pid(): number {
    return this.child.process.pid!;
  }

  /** Pids of every worker ever started, in order. */
  startedPids(): { worker: number; pid: number }[] {
    return this.child.lines
      .map(parse)
      .filter((l) => l?.msg === 'worker started')
      .map((l) => ({ worker: l!.worker as number, pid: l!.pid as number }));
  }

  /** The newest pid of worker `index`. */
  workerPid(index: number): number {
    const pid = this.startedPids().filter((p) => p.worker === index).at(-1)?.pid;
    if (pid === undefined) throw new Error(`no worker ${index} started`);
    return pid;
  }

  /** Log lines (parsed) whose msg is `msg`. */
  logs(msg: string): Record<string, unknown>[] {
    return this.child.lines.map(parse).filter((l): l is Record<string, unknown> => l?.msg === msg);
  }

  /** Every process of the tree that is still alive (the primary and any worker ever started). */
  alive(): number[] {
    return [this.pid, ...this.startedPids().map((p) => p.pid)].filter(isAlive);
  }

  /** SIGKILLs what is left (cleanup after a failed test). */
  kill(): void {
    for (const pid of this.alive()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/**
 * A request on a connection of its own (no keep-alive), so that successive requests are spread
 * over the workers the way node:cluster hands out connections. It fails after `timeoutMs`: a
 * connection the primary handed to a worker at the instant it died is never answered.
 */
export function freshRequest(url: string, method: 'GET' | 'POST', body?: unknown, timeoutMs = 10_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      { method, agent: false, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
