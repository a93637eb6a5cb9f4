import { describe, expect, test } from 'vitest';
import { chromeCandidates, findChrome } from '../../src/feeds/cdp/chrome-finder.js';

describe('npm run chrome finds the browser', () => {
  test('Windows: Chrome in Program Files, Program Files (x86) and the user folder, then Chromium, then Edge', () => {
    const env = { PROGRAMFILES: 'C:\\Program Files', 'PROGRAMFILES(X86)': 'C:\\Program Files (x86)', LOCALAPPDATA: 'C:\\Users\\t\\AppData\\Local' };
    expect(chromeCandidates('win32', env, 'C:\\Users\\t')).toEqual([
      'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
      'C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe',
      'C:\\Users\\t\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe',
      'C:\\Program Files\\Chromium\\Application\\chrome.exe',
      'C:\\Program Files (x86)\\Chromium\\Application\\chrome.exe',
      'C:\\Users\\t\\AppData\\Local\\Chromium\\Application\\chrome.exe',
      'C:\\Program Files\\Microsoft\\Edge\\Application\\msedge.exe',
      'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe',
      'C:\\Users\\t\\AppData\\Local\\Microsoft\\Edge\\Application\\msedge.exe',
    ]);
    // Only Edge installed (a fresh Windows): Edge it is.
    const edge = 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe';
    expect(findChrome('win32', env, 'C:\\Users\\t', (f) => f === edge)).toBe(edge);
  });

  test('macOS: the app bundles in /Applications and ~/Applications', () => {
    const c = chromeCandidates('darwin', {}, '/Users/t');
    expect(c.slice(0, 2)).toEqual([
      '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
      '/Users/t/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    ]);
    expect(c).toContain('/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge');
    expect(c).toContain('/Applications/Chromium.app/Contents/MacOS/Chromium');
  });

  test('Linux: the usual program names on PATH, Chrome before Chromium before Edge', () => {
    const c = chromeCandidates('linux', { PATH: '/opt/bin:/usr/local/bin' }, '/home/t');
    expect(c.indexOf('/opt/bin/google-chrome')).toBe(0);
    expect(c.indexOf('/usr/bin/chromium')).toBeLessThan(c.indexOf('/usr/bin/microsoft-edge'));
    expect(c.indexOf('/usr/local/bin/google-chrome')).toBeLessThan(c.indexOf('/opt/bin/chromium'));
    expect(findChrome('linux', { PATH: '/usr/bin' }, '/home/t', (f) => f === '/usr/bin/chromium')).toBe('/usr/bin/chromium');
  });

  test('CHROME_PATH comes first; nothing installed gives null', () => {
    expect(chromeCandidates('linux', { CHROME_PATH: '/x/brave' }, '/h')[0]).toBe('/x/brave');
    expect(findChrome('darwin', {}, '/Users/t', () => false)).toBeNull();
  });
});
