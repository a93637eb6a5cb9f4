import { describe, expect, test } from 'vitest';
import { exposureWarnings, hostIsLoopback, isLoopbackAddress, originAllowed } from '../../src/http/exposure.js';

describe('loopback listen addresses', () => {
  test.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.10', false],
    ['example.com', false],
  ])('%s -> %s', (host, loopback) => {
    expect(isLoopbackAddress(host)).toBe(loopback);
  });
});

describe('Host headers served on a loopback bind', () => {
  test.each([
    ['localhost', true],
    ['localhost:3000', true],
    ['LOCALHOST:5173', true],
    ['127.0.0.1', true],
    ['127.0.0.1:3000', true],
    ['[::1]:3000', true],
    ['[::1]', true],
    [undefined, true], // HTTP/1.0 without Host: not a browser
    ['evil.example', false],
    ['evil.example:3000', false],
    ['localhost.evil.example', false],
    ['127.0.0.1.evil.example', false],
    ['0.0.0.0:3000', false],
    ['192.168.1.10:3000', false],
    ['::1', false], // an IPv6 Host must be bracketed
    ['', false],
  ])('%s -> %s', (host, ok) => {
    expect(hostIsLoopback(host)).toBe(ok);
  });
});

describe('Origins that may open Socket.IO', () => {
  const allowed = ['https://desk.example.com'];
  test.each([
    [undefined, '127.0.0.1:3000', true], // no Origin: not a browser
    ['http://127.0.0.1:3000', '127.0.0.1:3000', true], // the page's own
    ['http://localhost:3000', 'localhost:3000', true],
    ['http://127.0.0.1:5173', '127.0.0.1:5173', true], // the Vite dev server, which forwards its own Host
    ['https://desk.example.com', '10.0.0.5:3000', true], // ALLOWED_ORIGINS
    ['http://desk.example.com', '10.0.0.5:3000', false], // another scheme is another origin
    ['http://evil.example', '127.0.0.1:3000', false],
    ['http://127.0.0.1:3001', '127.0.0.1:3000', false], // another port is another origin
    ['null', '127.0.0.1:3000', false], // sandboxed frames, file:// pages
    ['file://', '127.0.0.1:3000', false],
  ])('%s at Host %s -> %s', (origin, host, ok) => {
    expect(originAllowed(origin, host, allowed)).toBe(ok);
  });
});

describe('start-up warnings', () => {
  const base = { allowedOrigins: [], accessToken: undefined, ingestToken: undefined };
  test('none on localhost', () => {
    expect(exposureWarnings({ ...base, listenHost: '127.0.0.1' })).toEqual([]);
  });
  test('beyond localhost: one per missing token', () => {
    const w = exposureWarnings({ ...base, listenHost: '0.0.0.0' });
    expect(w).toHaveLength(2);
    expect(w[0]).toMatch(/INGEST_TOKEN/);
    expect(w[1]).toMatch(/ACCESS_TOKEN/);
    expect(exposureWarnings({ ...base, listenHost: '0.0.0.0', ingestToken: 'a', accessToken: 'b' })).toEqual([]);
  });
});
