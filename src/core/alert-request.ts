import { ValidationError, type FieldIssue } from './errors.js';
import { pairProblem } from './pair.js';
import { MAX_ALERT_NOTE_LENGTH } from '../shared/limits.js';
import type { AlertCondition } from '../shared/http.js';

/** A checked POST /api/alerts body: only the known fields (others are ignored, as for ticks). */
export interface AlertSpec {
  pair: string;
  condition: AlertCondition;
  price: number;
  note: string | null;
}

const CONDITIONS: readonly AlertCondition[] = ['above', 'below'];

/** Checks an alert request; throws ValidationError naming every broken field. */
export function parseAlertRequest(body: unknown): AlertSpec {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('Request body must be an alert object { pair, condition, price, note? }', [
      { index: 0, field: 'body', message: 'must be a JSON object with pair, condition and price' },
    ]);
  }
  const { pair, condition, price, note } = body as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  const issue = (field: string, message: string) => issues.push({ index: 0, field, message });

  if (pair === undefined) issue('pair', 'is required');
  else {
    const problem = pairProblem(pair);
    if (problem) issue('pair', problem);
  }

  if (condition === undefined) issue('condition', 'is required: "above" or "below"');
  else if (!CONDITIONS.includes(condition as AlertCondition)) issue('condition', `must be "above" or "below", not ${JSON.stringify(condition)}`);

  if (price === undefined) issue('price', 'is required');
  else if (typeof price !== 'number') issue('price', `must be a number, not a ${price === null ? 'null' : typeof price}`);
  else if (!Number.isFinite(price)) issue('price', 'must be a finite number');
  else if (price <= 0) issue('price', 'must be greater than 0');

  if (note !== undefined && note !== null) {
    if (typeof note !== 'string') issue('note', 'must be a string');
    else if (note.length > MAX_ALERT_NOTE_LENGTH) issue('note', `must be at most ${MAX_ALERT_NOTE_LENGTH} characters`);
    // NUL cannot be stored in TEXT; the note is a line shown in a notification.
    else if (/[\u0000-\u001f\u007f]/.test(note)) issue('note', 'must not contain control characters (line breaks included)');
    else if (!note.isWellFormed()) issue('note', 'must be well-formed Unicode text (it contains a lone surrogate)');
  }

  if (issues.length > 0) throw new ValidationError(`Invalid alert: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`, issues);
  const text = typeof note === 'string' && note.trim() !== '' ? note : null;
  return { pair: pair as string, condition: condition as AlertCondition, price: price as number, note: text };
}
