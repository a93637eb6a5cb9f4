import { ValidationError, type FieldIssue } from './errors.js';
import { pairProblem } from './pair.js';
import type { Tick } from './tick.js';
import { asEpochMs } from './units.js';

/** How far into the future a tick's timestamp may lie (clock skew between feed and us). */
export const MAX_FUTURE_MS = 60_000;
export const ID_MAX_LENGTH = 128;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks one raw tick against the contract. Returns the normalised tick (only the known fields)
 * or pushes one issue per broken rule into `issues`.
 */
export function validateTick(raw: unknown, index: number, nowMs: number, issues: FieldIssue[]): Tick | null {
  const before = issues.length;
  const issue = (field: string, message: string) => issues.push({ index, field, message });
  if (!isPlainObject(raw)) {
    issue('tick', 'must be a JSON object with pair, price and timestamp');
    return null;
  }
  const { pair, price, timestamp, id } = raw;

  if (pair === undefined) issue('pair', 'is required');
  else {
    const problem = pairProblem(pair);
    if (problem) issue('pair', problem);
  }

  if (price === undefined) issue('price', 'is required');
  else if (typeof price !== 'number') issue('price', 'must be a number, not a ' + typeName(price));
  else if (!Number.isFinite(price)) issue('price', 'must be a finite number');
  else if (price <= 0) issue('price', 'must be greater than 0');

  if (timestamp === undefined) issue('timestamp', 'is required');
  else if (typeof timestamp !== 'number') issue('timestamp', 'must be an integer of milliseconds since epoch, not a ' + typeName(timestamp));
  else if (!Number.isSafeInteger(timestamp)) issue('timestamp', 'must be an integer of milliseconds since epoch');
  else if (timestamp <= 0) issue('timestamp', 'must be a positive number of milliseconds since epoch');
  else if (timestamp > nowMs + MAX_FUTURE_MS) issue('timestamp', `must not be more than ${MAX_FUTURE_MS / 1000} s in the future`);

  // null is read as "no id": many feeds send it for ticks they did not number.
  if (id !== undefined && id !== null) {
    if (typeof id === 'string') {
      if (id.length === 0 || id.length > ID_MAX_LENGTH) issue('id', `must be 1 to ${ID_MAX_LENGTH} characters`);
      // Control characters cannot be stored in PostgreSQL TEXT (NUL) and serve no feed.
      else if (/[\u0000-\u001f\u007f]/.test(id)) issue('id', 'must not contain control characters');
      // A lone surrogate is not text: written as UTF-8 it becomes U+FFFD, and distinct ids would collapse into one.
      else if (!id.isWellFormed()) issue('id', 'must be well-formed Unicode text (it contains a lone surrogate)');
    } else if (typeof id === 'number') {
      if (!Number.isSafeInteger(id)) issue('id', 'must be a string or an integer');
    } else issue('id', 'must be a string or an integer');
  }

  if (issues.length > before) return null;
  const tick: Tick = { pair: pair as string, price: price as number, timestamp: asEpochMs(timestamp as number) };
  if (id !== undefined && id !== null) tick.id = id as string | number;
  return tick;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Validates a body holding one tick or an array of ticks: all or nothing.
 * Throws ValidationError listing every problem when any tick is bad.
 */
export function validateTickBatch(body: unknown, nowMs: number, maxTicks = 10_000): Tick[] {
  const items = Array.isArray(body) ? body : [body];
  if (body === null || body === undefined) {
    throw new ValidationError('Request body must be a tick object or an array of ticks', [
      { index: 0, field: 'body', message: 'is empty or null' },
    ]);
  }
  if (items.length === 0) {
    throw new ValidationError('No ticks in the request', [{ index: 0, field: 'body', message: 'array must not be empty' }]);
  }
  if (items.length > maxTicks) {
    throw new ValidationError('Too many ticks in one request', [
      { index: 0, field: 'body', message: `at most ${maxTicks} ticks per request` },
    ]);
  }
  const issues: FieldIssue[] = [];
  const ticks: Tick[] = [];
  items.forEach((raw, i) => {
    const tick = validateTick(raw, i, nowMs, issues);
    if (tick) ticks.push(tick);
  });
  if (issues.length > 0) {
    const bad = new Set(issues.map((x) => x.index)).size;
    throw new ValidationError(`${bad} of ${items.length} tick(s) invalid; nothing was stored`, issues.slice(0, 100));
  }
  return ticks;
}
