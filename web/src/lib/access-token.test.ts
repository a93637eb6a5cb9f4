import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';

/** The module reads the token once, at import: each test imports it fresh. */
async function load() {
  vi.resetModules();
  return import('./access-token.js');
}

beforeEach(() => {
  window.localStorage.clear();
  window.history.replaceState(null, '', '/');
});
afterEach(() => window.localStorage.clear());

describe('the access token', () => {
  test('taken from ?token=, remembered, and removed from the address bar (other parameters kept)', async () => {
    window.history.replaceState(null, '', '/?pair=EUR%2FUSD_otc&token=s3cret&tf=5S');
    const m = await load();
    expect(m.accessToken()).toBe('s3cret');
    expect(window.location.search).toBe('?pair=EUR%2FUSD_otc&tf=5S');
    expect(window.localStorage.getItem('quflx.accessToken')).toBe('s3cret');
    expect(m.authHeaders()).toEqual({ authorization: 'Bearer s3cret' });
    let auth: object | null = null;
    m.socketAuth((data) => (auth = data));
    expect(auth).toEqual({ token: 's3cret' });
  });

  test('on a later visit it comes from storage', async () => {
    window.localStorage.setItem('quflx.accessToken', 'kept');
    const m = await load();
    expect(m.accessToken()).toBe('kept');
    expect(m.authHeaders()).toEqual({ authorization: 'Bearer kept' });
  });

  test('none: no header, an empty socket auth', async () => {
    const m = await load();
    expect(m.accessToken()).toBeNull();
    expect(m.authHeaders()).toEqual({});
    let auth: object | null = null;
    m.socketAuth((data) => (auth = data));
    expect(auth).toEqual({});
  });
});
