import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { CHROMIUM_BINARY } from '../helpers/chromium-process.js';
import { FakeBroker } from '../helpers/fake-broker.js';
import { waitFor } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HEADLESS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const cleanups = cleanupsAfterEach();

/** Runs `npm run chrome` (its script, through tsx) and returns its exit code and output. */
function runChrome(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/chrome.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('npm run chrome starts the browser with its own profile and a debugging port, opens the URL and prints FEED=', async () => {
  const data = mkdtempSync(path.join(tmpdir(), 'quflx-chrome-cmd-'));
  const broker = await FakeBroker.start();
  cleanups.push(() => broker.close());
  let pid = 0;
  cleanups.push(async () => {
    if (pid) {
      try {
        process.kill(-pid, 'SIGKILL'); // the browser runs in a process group of its own
      } catch {
        /* gone */
      }
      await waitFor(() => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }, 10_000, 'browser exit').catch(() => undefined);
    }
    rmSync(data, { recursive: true, force: true });
  });
  const env = { QUFLX_DATA_DIR: data, CHROME_PATH: CHROMIUM_BINARY };
  const url = `${broker.url}/trade?page=cmd`;
  const first = await runChrome(['--port', '0', ...HEADLESS, url], env);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  pid = Number(/\(pid (\d+)\)/.exec(first.stdout)?.[1]);
  const lines = first.stdout.trim().split('\n');
  const feed = /^FEED=cdp:\/\/127\.0\.0\.1:(\d+)$/.exec(lines[lines.length - 1]!);
  expect(feed).not.toBeNull();
  const port = Number(feed![1]);
  expect(first.stdout).toContain(`Profile: ${path.join(data, 'chrome')}`);
  expect(existsSync(path.join(data, 'chrome'))).toBe(true);
  // The browser is up, with the broker page open and connected.
  const version = (await (await fetch(`http://127.0.0.1:${port}/json/version`)).json()) as { Browser: string };
  expect(version.Browser).toMatch(/Chrom/);
  await waitFor(() => broker.connections('cmd') === 1, 30_000, 'the page to connect');

  // Run again while it is up: nothing new is started, the same FEED= is printed.
  const again = await runChrome(['--port', String(port)], env);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain('already listens');
  expect(again.stdout.trim().split('\n').pop()).toBe(`FEED=cdp://127.0.0.1:${port}`);
}, 90_000);

test('bad usage is refused with exit code 2', async () => {
  const r = await runChrome(['--port', 'x'], {});
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--port');
  const u = await runChrome(['ftp://broker'], {});
  expect(u.code).toBe(2);
  expect(u.stderr).toContain('not an http');
});
