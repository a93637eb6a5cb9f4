import { UnavailableError } from '../core/errors.js';

/** Errors of the link or the server rather than of the query: the client should retry. */
export function isUnavailable(err: unknown): boolean {
  const code = String((err as { code?: unknown }).code ?? '');
  return /^(08|57|53)/.test(code) || /^E[A-Z]+$/.test(code) || /Connection terminated|timeout/i.test(String((err as Error).message));
}

/** How long a request waits for the schema at start before it is told to retry. */
const SCHEMA_WAIT_MS = 5000;

/**
 * A database call for a request: once the schema is in place (migrations run in the background at
 * start; waited for up to 5 s), with link and server failures as UnavailableError (HTTP 503).
 */
export async function databaseCall<T>(work: () => Promise<T>, schemaReady?: Promise<unknown>): Promise<T> {
  if (schemaReady) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), SCHEMA_WAIT_MS)));
    const ready = await Promise.race([schemaReady, late]);
    clearTimeout(timer);
    if (ready === 'late') throw new UnavailableError('The database is not reachable yet; retry shortly', 5);
  }
  try {
    return await work();
  } catch (err) {
    if (isUnavailable(err)) throw new UnavailableError(`The database is not reachable: ${(err as Error).message}`, 5);
    throw err;
  }
}
