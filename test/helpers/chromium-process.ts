import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's Chromium binary itself (the /usr/bin/chromium wrapper adds flags of its own). */
export const CHROMIUM_BINARY = process.env.CHROMIUM_BINARY ?? '/usr/lib/chromium/chromium';

/**
 * Headless Chromium as this machine needs it, for every browser the tests start: no sandbox (root),
 * and none of its background connections (the closed network refuses them, many at a time).
 */
export const HEADLESS_CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export interface ChromiumProcess {
  /** The DevTools port (from DevToolsActivePort). */
  port: number;
  pid: number;
  /** SIGKILLs the browser and every process it started (its process group), like a crash. */
  kill(): Promise<void>;
}

/**
 * Starts headless Chromium with remote debugging, a fresh profile and the flags a shared test
 * machine needs. `port` 0 picks a free port; `urls` are opened at start (before anyone attaches).
 */
export async function startChromium(options: { port?: number; urls?: string[] } = {}): Promise<ChromiumProcess> {
  if (!existsSync(CHROMIUM_BINARY)) throw new Error(`Chromium not found at ${CHROMIUM_BINARY}: apt-get install chromium`);
  const profile = mkdtempSync(join(tmpdir(), 'quflx-cdp-'));
  const child: ChildProcess = spawn(
    CHROMIUM_BINARY,
    [
      ...HEADLESS_CHROMIUM_FLAGS,
      '--disable-dev-shm-usage',
      `--remote-debugging-port=${options.port ?? 0}`,
      '--remote-debugging-address=127.0.0.1',
      `--user-data-dir=${profile}`,
      ...(options.urls ?? ['about:blank']),
    ],
    // Its own process group, so a kill reaches the renderers too. CHROMIUM_LOG=1 shows its stderr.
    { detached: true, stdio: ['ignore', 'ignore', process.env.CHROMIUM_LOG ? 'inherit' : 'ignore'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid!;
  let killed = false;
  const kill = async () => {
    if (!killed) {
      killed = true;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await exited;
      rmSync(profile, { recursive: true, force: true });
    }
  };
  try {
    const file = join(profile, 'DevToolsActivePort');
    const deadline = Date.now() + 30_000;
    let exitedEarly = false;
    void exited.then(() => (exitedEarly = true));
    for (;;) {
      // Chromium writes DevToolsActivePort only when it picked the port itself.
      if (options.port) {
        const up = await fetch(`http://127.0.0.1:${options.port}/json/version`).then((r) => r.ok, () => false);
        if (up) return { port: options.port, pid, kill };
      } else if (existsSync(file)) {
        const first = readFileSync(file, 'utf8').split('\n')[0];
        if (first && /^\d+$/.test(first)) return { port: Number(first), pid, kill };
      }
      if (exitedEarly) throw new Error('Chromium exited before it opened its DevTools port');
      if (Date.now() > deadline) throw new Error('Chromium did not open its DevTools port within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await kill();
    throw err;
  }
}
