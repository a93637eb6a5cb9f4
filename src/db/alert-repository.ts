import type pg from 'pg';
import type { WatchedAlert } from '../core/alert-crossing.js';
import type { AlertSpec } from '../core/alert-request.js';
import type { Alert, AlertCondition, AlertTrigger } from '../shared/http.js';

/** First key of the lock that makes "at most MAX_ALERTS" hold between processes: "QALR" in ASCII; the second is the schema's hash. */
const ALERT_LOCK_CLASS = 0x51414c52;

interface AlertRow {
  id: string;
  pair: string;
  condition: AlertCondition;
  price: number;
  note: string | null;
  created_ms: string;
  created_seq: string;
  triggered_ms: string | null;
  trigger_price: number | null;
  trigger_timestamp: string | null;
}

const COLUMNS = `id, pair, condition, price, note, (extract(epoch FROM created_at) * 1000)::int8 AS created_ms, created_seq,
  (extract(epoch FROM triggered_at) * 1000)::int8 AS triggered_ms, trigger_price, trigger_timestamp`;

function toAlert(r: AlertRow): Alert {
  return {
    id: Number(r.id),
    pair: r.pair,
    condition: r.condition,
    price: r.price,
    note: r.note,
    createdAt: Number(r.created_ms),
    triggeredAt: r.triggered_ms === null ? null : Number(r.triggered_ms),
    trigger: r.trigger_price === null ? null : { price: r.trigger_price, timestamp: Number(r.trigger_timestamp) },
  };
}

function toWatched(r: AlertRow): WatchedAlert {
  return { id: Number(r.id), pair: r.pair, condition: r.condition, price: r.price, createdAt: Number(r.created_ms), createdSeq: Number(r.created_seq) };
}

/**
 * Stores a new alert unless `maxAlerts` exist already (fired ones count until deleted): null then.
 * The count and the insert hold a transaction-level lock, so processes creating alerts together
 * never pass the bound (and nothing outlives the transaction: fine behind PgBouncer).
 */
export async function insertAlert(
  pool: pg.Pool,
  spec: AlertSpec,
  created: { at: number; seq: number },
  maxAlerts: number,
): Promise<{ alert: Alert; watched: WatchedAlert } | null> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [ALERT_LOCK_CLASS]);
    const { rows: count } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM alerts');
    if (count[0]!.n >= maxAlerts) {
      await client.query('ROLLBACK');
      return null;
    }
    const { rows } = await client.query<AlertRow>(
      `INSERT INTO alerts (pair, condition, price, note, created_at, created_seq)
       VALUES ($1, $2, $3, $4, to_timestamp($5::float8 / 1000), $6) RETURNING ${COLUMNS}`,
      [spec.pair, spec.condition, spec.price, spec.note, created.at, created.seq],
    );
    await client.query('COMMIT');
    return { alert: toAlert(rows[0]!), watched: toWatched(rows[0]!) };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Every alert, oldest first. */
export async function listAlerts(db: pg.Pool | pg.ClientBase): Promise<Alert[]> {
  const { rows } = await db.query<AlertRow>(`SELECT ${COLUMNS} FROM alerts ORDER BY id`);
  return rows.map(toAlert);
}

/** The alerts that have not fired: what every process watches. */
export async function waitingAlerts(db: pg.Pool | pg.ClientBase): Promise<WatchedAlert[]> {
  const { rows } = await db.query<AlertRow>(`SELECT ${COLUMNS} FROM alerts WHERE triggered_at IS NULL ORDER BY id`);
  return rows.map(toWatched);
}

/** One alert that has not fired, or null (unknown, deleted or fired). */
export async function waitingAlert(db: pg.Pool | pg.ClientBase, id: number): Promise<WatchedAlert | null> {
  const { rows } = await db.query<AlertRow>(`SELECT ${COLUMNS} FROM alerts WHERE id = $1 AND triggered_at IS NULL`, [id]);
  return rows[0] ? toWatched(rows[0]) : null;
}

/** Deletes an alert; false when there was none with that id. */
export async function deleteAlert(db: pg.Pool | pg.ClientBase, id: number): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM alerts WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

/**
 * Claims the firing of an alert for this tick: one statement, so exactly one claim of all the
 * processes wins. The alert takes the tick's pair, the instrument's canonical name (an alert made
 * before any tick of its pair kept the spelling it was given). Returns the fired alert, or null
 * when it has fired already or was deleted.
 */
export async function claimAlert(
  db: pg.Pool | pg.ClientBase,
  id: number,
  trigger: AlertTrigger & { pair: string },
  at: number,
): Promise<Alert | null> {
  const { rows } = await db.query<AlertRow>(
    `UPDATE alerts SET triggered_at = to_timestamp($2::float8 / 1000), trigger_price = $3, trigger_timestamp = $4, pair = $5
     WHERE id = $1 AND triggered_at IS NULL RETURNING ${COLUMNS}`,
    [id, at, trigger.price, trigger.timestamp, trigger.pair],
  );
  return rows[0] ? toAlert(rows[0]) : null;
}
