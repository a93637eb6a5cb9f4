import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { HEADLESS_CHROMIUM_FLAGS } from './chromium-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const WEB_DIST = join(ROOT, 'web', 'dist');

/** Newest modification time of the files under `path` (a file or a folder). */
function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

/** Builds the browser app (web/dist) when there is no build or its sources changed since. */
export async function ensureWebBuilt(): Promise<void> {
  const index = join(WEB_DIST, 'index.html');
  const sources = ['src', 'index.html', 'vite.config.ts'].map((p) => join(ROOT, 'web', p));
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newest))) return;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'web', 'vite.config.ts'), logLevel: 'warn' });
}

/** Debian's Chromium (apt-get install chromium), or CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and warnings, page errors, failed requests: what a user's console would show. */
  problems: { at: number; text: string; from?: string }[];
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile, at the size of a laptop screen (in a time zone of choice). */
export async function openBrowser(viewport = { width: 1440, height: 900 }, options: { timezoneId?: string } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'quflx-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...HEADLESS_CHROMIUM_FLAGS],
    viewport,
    ...(options.timezoneId ? { timezoneId: options.timezoneId } : {}),
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: Browser['problems'] = [];
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    // A failed load names no resource in its text; where it came from does.
    const from = m.location().url;
    problems.push({ at: Date.now(), text: `console.${m.type()}: ${m.text()}`, ...(from ? { from } : {}) });
  });
  page.on('pageerror', (e) => problems.push({ at: Date.now(), text: `page error: ${e.message}` }));
  return {
    context,
    page,
    problems,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
