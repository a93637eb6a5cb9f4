import path from 'node:path';

type Env = Record<string, string | undefined>;

const LINUX_NAMES = ['google-chrome', 'google-chrome-stable', 'chromium', 'chromium-browser', 'microsoft-edge', 'microsoft-edge-stable'];

/**
 * Where Chrome, Chromium or Edge is usually installed, in the order they are tried: CHROME_PATH
 * first, then Chrome, Chromium and Edge in their standard places for the platform.
 */
export function chromeCandidates(platform: NodeJS.Platform, env: Env, home: string): string[] {
  const out: string[] = [];
  if (env.CHROME_PATH) out.push(env.CHROME_PATH);
  if (platform === 'win32') {
    const win = path.win32;
    const roots = [env.PROGRAMFILES, env['PROGRAMFILES(X86)'], env.LOCALAPPDATA].filter((r): r is string => !!r);
    for (const r of roots) out.push(win.join(r, 'Google', 'Chrome', 'Application', 'chrome.exe'));
    for (const r of roots) out.push(win.join(r, 'Chromium', 'Application', 'chrome.exe'));
    for (const r of roots) out.push(win.join(r, 'Microsoft', 'Edge', 'Application', 'msedge.exe'));
  } else if (platform === 'darwin') {
    const apps = [
      ['Google Chrome.app', 'Google Chrome'],
      ['Chromium.app', 'Chromium'],
      ['Microsoft Edge.app', 'Microsoft Edge'],
    ];
    for (const [app, bin] of apps) {
      out.push(path.posix.join('/Applications', app!, 'Contents', 'MacOS', bin!));
      out.push(path.posix.join(home, 'Applications', app!, 'Contents', 'MacOS', bin!));
    }
  } else {
    const dirs = (env.PATH ?? '').split(':').filter((d) => d !== '');
    for (const name of LINUX_NAMES) {
      for (const d of dirs) out.push(path.posix.join(d, name));
      out.push(path.posix.join('/usr/bin', name));
    }
    out.push('/snap/bin/chromium', '/opt/google/chrome/chrome', '/opt/microsoft/msedge/msedge');
  }
  return [...new Set(out)];
}

/** The first installed browser, or null. `exists` tells whether a file is there (fs.existsSync). */
export function findChrome(platform: NodeJS.Platform, env: Env, home: string, exists: (file: string) => boolean): string | null {
  return chromeCandidates(platform, env, home).find(exists) ?? null;
}
