/**
 * The access token (the server's ACCESS_TOKEN), for a QuFLX that listens beyond localhost. It is
 * taken once from `?token=` in the page's URL, remembered in localStorage and removed from the
 * address bar (so it is not left in history or in a shared link); null when there is none.
 * Read at import, before the app writes its own URL.
 */
const STORAGE_KEY = 'quflx.accessToken';

function takeToken(): string | null {
  if (typeof window === 'undefined') return null;
  try {
    const url = new URL(window.location.href);
    const fromUrl = url.searchParams.get('token');
    if (fromUrl) {
      window.localStorage.setItem(STORAGE_KEY, fromUrl);
      url.searchParams.delete('token');
      window.history.replaceState(window.history.state, '', url);
      return fromUrl;
    }
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage blocked: no token
  }
}

const token = takeToken();

export function accessToken(): string | null {
  return token;
}

/** `Authorization` for the page's API requests; empty without a token. */
export function authHeaders(): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** socket.io-client's `auth` option: the token goes in the connect packet (a WebSocket cannot carry headers). */
export function socketAuth(callback: (data: object) => void): void {
  callback(token ? { token } : {});
}
