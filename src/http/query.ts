import { ValidationError } from '../core/errors.js';
import { pairProblem } from '../core/pair.js';

/** Query-string checks shared by the read routes; each failure names the parameter. */
export function requirePair(value: unknown): string {
  const problem = value === undefined ? 'is required' : pairProblem(value);
  if (problem) throw new ValidationError(`Invalid query parameter "pair"`, [{ index: 0, field: 'pair', message: problem }]);
  return value as string;
}

export function parseLimit(value: unknown, fallback: number, max: number, field = 'limit'): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new ValidationError(`Invalid query parameter "${field}"`, [
      { index: 0, field, message: `must be a whole number from 1 to ${max}` },
    ]);
  }
  return n;
}

/** An optional point in time as a whole number (`unit` names it in the message), or undefined. */
export function parseTime(value: unknown, field: string, unit: 'epoch seconds' | 'epoch milliseconds'): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new ValidationError(`Invalid query parameter "${field}"`, [{ index: 0, field, message: `must be a time in ${unit} (a whole number)` }]);
  }
  return n;
}
