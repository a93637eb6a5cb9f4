/**
 * `npm run chrome [-- URL] [--port N] [--<browser flag> ...]`: starts the installed Chrome,
 * Chromium or Edge with QuFLX's own profile (under QUFLX_DATA_DIR/chrome, so the trader logs in
 * to the broker once and stays logged in) and a remote-debugging port, then prints the FEED=
 * value that makes QuFLX read that browser's pages. The browser keeps running after this exits.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { discoverBrowser } from './feeds/cdp/browser-link.js';
import { chromeCandidates, findChrome } from './feeds/cdp/chrome-finder.js';

const DEFAULT_PORT = 9222;

function usage(message: string): never {
  console.error(`${message}\nusage: npm run chrome [-- <broker URL>] [--port <port, default ${DEFAULT_PORT}>] [--<browser flag> ...]`);
  process.exit(2);
}

function parseArgs(argv: string[]): { url: string | undefined; port: number; flags: string[] } {
  let url: string | undefined;
  let port = DEFAULT_PORT;
  const flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--port' || a.startsWith('--port=')) {
      const raw = a === '--port' ? argv[++i] : a.slice('--port='.length);
      if (raw === undefined || !/^\d+$/.test(raw) || Number(raw) > 65_535) usage(`--port: ${JSON.stringify(raw ?? '')} is not a port (0 to 65535)`);
      port = Number(raw);
    } else if (a.startsWith('--')) flags.push(a);
    else if (url === undefined) {
      try {
        if (!['http:', 'https:'].includes(new URL(a).protocol)) throw new Error();
      } catch {
        usage(`${JSON.stringify(a)} is not an http:// or https:// URL`);
      }
      url = a;
    } else usage(`one URL at most, got ${JSON.stringify(a)} too`);
  }
  return { url, port, flags };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const { url, port, flags } = parseArgs(process.argv.slice(2));
  const profile = path.resolve(process.env.QUFLX_DATA_DIR?.trim() || '.data', 'chrome');

  if (port !== 0) {
    const running = await discoverBrowser('127.0.0.1', port, 1500).catch(() => null);
    if (running) {
      console.log(`A browser already listens for DevTools on port ${port} (${running.browser}).`);
      if (url) console.log(`Open ${url} in it yourself.`);
      return printFeed(port);
    }
  }

  const exe = findChrome(process.platform, process.env, homedir(), existsSync);
  if (!exe) {
    console.error('No Chrome, Chromium or Edge found. Looked in:');
    for (const c of chromeCandidates(process.platform, process.env, homedir())) console.error(`  ${c}`);
    console.error('Install one, or set CHROME_PATH to the browser program.');
    process.exit(1);
  }
  mkdirSync(profile, { recursive: true });
  const args = [
    `--remote-debugging-port=${port}`,
    // Chrome only opens its debugging port for a profile other than the default one.
    `--user-data-dir=${profile}`,
    '--no-first-run',
    '--no-default-browser-check',
    ...flags,
    ...(url ? [url] : []),
  ];
  const child = spawn(exe, args, { detached: true, stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', (err) => {
    console.error(`Could not start ${exe}: ${err.message}`);
    process.exit(1);
  });
  child.unref();

  const deadline = Date.now() + 30_000;
  for (;;) {
    const actual = port !== 0 ? port : activePort(profile);
    const version = actual === null ? null : await discoverBrowser('127.0.0.1', actual, 1500).catch(() => null);
    if (version && actual !== null) {
      console.log(`Started ${version.browser} (pid ${child.pid}) from ${exe}`);
      console.log(`Profile: ${profile}`);
      console.log('Log in to your broker in this window once: the profile keeps you logged in.');
      return printFeed(actual);
    }
    if (exited) {
      console.error(
        `${path.basename(exe)} exited before opening its debugging port. If it is already open with this profile ` +
          `(${profile}) but without the port, close that window and run npm run chrome again.`,
      );
      process.exit(1);
    }
    if (Date.now() > deadline) {
      console.error(`${path.basename(exe)} did not open its debugging port ${port || ''} within 30 s.`);
      process.exit(1);
    }
    await sleep(200);
  }
}

/** The port the browser picked itself (--port 0), from the profile's DevToolsActivePort. */
function activePort(profile: string): number | null {
  try {
    const first = readFileSync(path.join(profile, 'DevToolsActivePort'), 'utf8').split('\n')[0] ?? '';
    return /^\d+$/.test(first) ? Number(first) : null;
  } catch {
    return null;
  }
}

function printFeed(port: number): void {
  const feed = `cdp://127.0.0.1:${port}`;
  console.log('Then start QuFLX in another terminal:');
  console.log(`  FEED=${feed} npm start                    (macOS, Linux)`);
  console.log(`  $env:FEED="${feed}"; npm start            (Windows PowerShell)`);
  console.log(`  set FEED=${feed}&& npm start               (Windows cmd)`);
  // Alone on the last line, for scripts.
  console.log(`FEED=${feed}`);
}

await main();
