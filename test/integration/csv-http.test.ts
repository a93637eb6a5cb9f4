import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import type { Tick } from '../../src/core/tick.js';
import { asEpochMs } from '../../src/core/units.js';
import { migrate } from '../../src/db/migrate.js';
import { insertTicks, toRow } from '../../src/db/tick-repository.js';
import { createLogger } from '../../src/observability/logger.js';
import type { ImportErrorResponse, ImportResponse } from '../../src/shared/http.js';
import { Child, serverEnv } from '../helpers/child.js';
import { deleteKeys, startTestApp, TEST_REDIS_URL, uniquePrefix, waitFor, type TestApp } from '../helpers/test-app.js';
import { createTestSchema, type TestSchema } from '../helpers/test-db.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const cleanups = cleanupsAfterEach();

const log = createLogger('silent');
/** Well in the past, so no tick trips the "not in the future" rule. */
const T0 = Date.UTC(2024, 10, 22, 18, 0, 0);

async function app(env: Record<string, string> = {}, options: Parameters<typeof startTestApp>[1] = {}): Promise<TestApp> {
  const a = await startTestApp(env, options);
  cleanups.push(() => a.close());
  // The app migrates in the background; the test reads and writes the tables itself.
  await migrate(a.db.pool, log);
  return a;
}

interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

async function importCsv(url: string, csv: string, query = '', headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${url}/api/import${query}`, { method: 'POST', headers: { 'content-type': 'text/csv', ...headers }, body: csv });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body, text };
}

async function exportCsv(url: string, query: string, headers: Record<string, string> = {}): Promise<Answer<null>> {
  const res = await fetch(`${url}/api/export${query}`, { headers });
  return { status: res.status, headers: res.headers, body: null, text: await res.text() };
}

/** Every stored row's identity-bearing columns, in a stable order. */
async function rows(db: TestSchema, pair?: string) {
  const r = await db.pool.query(
    `SELECT pair, price, "timestamp"::text AS timestamp, feed_id FROM historical_ticks
     WHERE $1::text IS NULL OR pair = $1 ORDER BY pair, "timestamp", price, feed_id COLLATE "C"`,
    [pair ?? null],
  );
  return r.rows;
}

const line = (pair: string, price: number | string, dt: number, id = '') => `${pair},${price},${T0 + dt},${id}`;
const csvOf = (...lines: string[]) => ['pair,price,timestamp,id', ...lines].join('\n') + '\n';

describe('POST /api/import', () => {
  test('all or nothing: bad lines are named and nothing is written; skipInvalid writes the good ones; duplicates are counted', async () => {
    const t = await app();
    const csv = csvOf(
      line('EUR/USD_otc', 1.1, 0, 'a'),
      line('EUR/USD_otc', 'abc', 1), // line 3: price
      line('EUR/USD_otc', 1.2, 2),
      'EUR/USD_otc,1.3,', // line 5: timestamp missing
      line('EUR/USD_otc', 1.4, 4),
    );
    const refused = await importCsv(t.url, csv);
    expect(refused.status).toBe(400);
    const err = refused.body as ImportErrorResponse;
    expect(err.invalid).toBe(2);
    expect(err.valid).toBe(3);
    expect(err.invalidLines).toHaveLength(2);
    expect(err.invalidLines[0]).toMatch(/^line 3: price /);
    expect(err.invalidLines[1]).toMatch(/^line 5: timestamp /);
    expect(err.details!.map((d) => [d.index, d.field])).toEqual([
      [3, 'price'],
      [5, 'timestamp'],
    ]);
    expect(err.error).toMatch(/2 invalid lines; nothing was imported/);
    expect(await t.db.count()).toBe(0);

    const skipped = await importCsv(t.url, csv, '?skipInvalid=true');
    expect(skipped.status).toBe(200);
    expect(skipped.body).toEqual({ imported: 3, duplicates: 0, invalid: 2, invalidLines: err.invalidLines } satisfies ImportResponse);
    expect(await t.db.count()).toBe(3);

    // Again, with one tick twice in the file and one new: the stored ones and the repeat are duplicates.
    const again = await importCsv(t.url, csvOf(line('EUR/USD_otc', 1.1, 0, 'a'), line('EUR/USD_otc', 1.2, 2), line('EUR/USD_otc', 1.4, 4), line('EUR/USD_otc', 1.5, 5), line('EUR/USD_otc', 1.5, 5)));
    expect(again.body).toEqual({ imported: 1, duplicates: 4, invalid: 0, invalidLines: [] });
    expect(await t.db.count()).toBe(4);
  });

  test('a body that is not a tick CSV is refused whole: no header, not UTF-8, another content type, a bad flag', async () => {
    const t = await app();
    const noHeader = await importCsv(t.url, `${line('EUR/USD_otc', 1.1, 0)}\n`);
    expect(noHeader.status).toBe(400);
    expect(noHeader.body.error).toMatch(/nothing imported: line 1: the header line must name the columns pair,price,timestamp/);
    expect(noHeader.body).toMatchObject({ invalid: 0, valid: 0, details: [{ field: 'body' }] });

    const latin1 = Buffer.concat([Buffer.from(csvOf(line('EUR/USD_otc', 1.1, 0, 'caf'))), Buffer.from([0xe9, 0x0a])]);
    const res = await fetch(`${t.url}/api/import`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: latin1 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/not valid UTF-8 \(byte 0xE9\)/);

    const json = await fetch(`${t.url}/api/import`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
    expect(((await json.json()) as { error: string }).error).toMatch(/text\/csv/);
    const empty = await importCsv(t.url, '');
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatch(/empty/);
    const flag = await importCsv(t.url, csvOf(line('EUR/USD_otc', 1.1, 0)), '?skipInvalid=maybe');
    expect(flag.status).toBe(400);
    expect(flag.body.details[0].field).toBe('skipInvalid');
    // And the JSON routes still take no CSV.
    const ticksAsCsv = await fetch(`${t.url}/api/ticks`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'pair,price\n' });
    expect(ticksAsCsv.status).toBe(415);
    expect(await t.db.count()).toBe(0);
  });

  test('INGEST_TOKEN guards the import; ACCESS_TOKEN guards the export', async () => {
    const t = await app({ INGEST_TOKEN: 'ingest-secret', ACCESS_TOKEN: 'read-secret' });
    const csv = csvOf(line('EUR/USD_otc', 1.1, 0));
    expect((await importCsv(t.url, csv)).status).toBe(401);
    expect((await importCsv(t.url, csv, '', { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await importCsv(t.url, csv, '', { authorization: 'Bearer read-secret' })).status).toBe(401);
    expect(await t.db.count()).toBe(0);
    expect((await importCsv(t.url, csv, '', { authorization: 'Bearer ingest-secret' })).body).toMatchObject({ imported: 1 });

    expect((await exportCsv(t.url, '?pair=EUR/USD_otc')).status).toBe(401);
    expect((await exportCsv(t.url, '?pair=EUR/USD_otc', { authorization: 'Bearer ingest-secret' })).status).toBe(401);
    const ok = await exportCsv(t.url, '?pair=EUR/USD_otc', { authorization: 'Bearer read-secret' });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe(csvOf(line('EUR/USD_otc', 1.1, 0)));
  });

  test('a body over IMPORT_MAX_BYTES is a 413 and writes nothing, announced or streamed', async () => {
    const t = await app({ IMPORT_MAX_BYTES: '2048' });
    const big = csvOf(...Array.from({ length: 200 }, (_, i) => line('EUR/USD_otc', 1 + i / 1000, i)));
    expect(big.length).toBeGreaterThan(2048);
    const announced = await importCsv(t.url, big);
    expect(announced.status).toBe(413);
    expect(announced.body.error).toMatch(/larger than 2048 bytes \(IMPORT_MAX_BYTES\)/);
    // Chunked, without a Content-Length: cut once the bytes pass the bound.
    const res = await fetch(`${t.url}/api/import`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: Readable.toWeb(Readable.from([big.slice(0, 1500), big.slice(1500)])) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    await res.text();
    expect(await t.db.count()).toBe(0);
    expect((await importCsv(t.url, csvOf(line('EUR/USD_otc', 1.1, 0)))).body).toMatchObject({ imported: 1 });
  });
});

describe('POST /api/import time bounds', () => {
  /** Sends the CSV in `parts`, `gapMs` apart, chunked; resolves with the answer. */
  function trickle(url: string, parts: string[], gapMs: number, end = true): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${url}/api/import`, { method: 'POST', headers: { 'content-type': 'text/csv' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          resolve({ status: res.statusCode!, body: JSON.parse(text) });
          req.destroy();
        });
      });
      req.on('error', reject);
      void (async () => {
        for (const p of parts) {
          if (req.destroyed) return;
          req.write(p);
          await new Promise((r) => setTimeout(r, gapMs));
        }
        if (end) req.end();
      })();
    });
  }

  test('an upload that keeps coming outlives the whole-request timeout of other routes (here 1 s)', async () => {
    const t = await app({}, { httpLimits: { requestTimeoutMs: 1000, headersTimeoutMs: 500, streamIdleMs: 2000 } });
    const parts = ['pair,price,timestamp,id\n', ...Array.from({ length: 12 }, (_, i) => `${line('EUR/USD_otc', 1 + i / 100, i)}\n`)];
    const answer = await trickle(t.url, parts, 200); // about 2.6 s in all
    expect(answer).toEqual({ status: 200, body: { imported: 12, duplicates: 0, invalid: 0, invalidLines: [] } });
    expect(await t.db.count()).toBe(12);
  });

  test('an upload that stops is cut after streamIdleMs with a 408, and nothing is written', async () => {
    const t = await app({}, { httpLimits: { streamIdleMs: 800 } });
    const started = Date.now();
    const answer = await trickle(t.url, [csvOf(line('EUR/USD_otc', 1.1, 0))], 60_000, false);
    expect(answer.status).toBe(408);
    expect(answer.body.error).toMatch(/nothing came for 1 s; nothing was imported/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(await t.db.count()).toBe(0);
  });
});

describe('GET /api/export', () => {
  test('the stored rows as text/csv with a file name; from/to inclusive; export -> import into an empty database gives identical rows', async () => {
    const source = await app();
    const ticks: Tick[] = [
      { pair: 'EUR/USD_otc', price: 1.0823, timestamp: asEpochMs(T0) },
      { pair: 'EUR/USD_otc', price: 0.1 + 0.2, timestamp: asEpochMs(T0 + 1) },
      { pair: 'EUR/USD_otc', price: 1e-7, timestamp: asEpochMs(T0 + 2), id: 'with,comma' },
      { pair: 'EUR/USD_otc', price: 150.123456789012, timestamp: asEpochMs(T0 + 3), id: 42 },
      { pair: 'EUR/USD_otc', price: 1.5, timestamp: asEpochMs(T0 + 4), id: '=HYPERLINK("x")' },
      { pair: 'EUR/USD_otc', price: 1.6, timestamp: asEpochMs(T0 + 5), id: 'ünïcödé ✓' },
      { pair: 'GBP/USD_otc', price: 1.25, timestamp: asEpochMs(T0) },
    ];
    await insertTicks(source.db.pool, ticks.map((x) => toRow(x)));
    // A first import registered the name; any spelling exports the one instrument.
    await source.app.registry.register(['EUR/USD_otc', 'GBP/USD_otc'], 'some');

    const all = await exportCsv(source.url, '?pair=EURUSD_otc');
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(all.headers.get('content-disposition')).toBe('attachment; filename="EURUSD_otc.csv"');
    const lines = all.text.trimEnd().split('\n');
    expect(lines[0]).toBe('pair,price,timestamp,id');
    expect(lines).toHaveLength(7);
    expect(all.text).toContain(`EUR/USD_otc,0.0000001,${T0 + 2},"with,comma"`);
    expect(all.text).toContain(`"'=HYPERLINK(""x"")"`);
    expect(all.text).not.toContain('GBP');

    // The body equals the stored rows, field by field.
    const stored = await rows(source.db, 'EUR/USD_otc');
    const fromFile = lines.slice(1).map((l) => {
      const [pair, price, timestamp] = l.split(',');
      return { pair, price: Number(price), timestamp };
    });
    expect(fromFile).toEqual(stored.map((r) => ({ pair: r.pair, price: r.price, timestamp: r.timestamp })));

    const range = await exportCsv(source.url, `?pair=EUR/USD_otc&from=${T0 + 1}&to=${new Date(T0 + 3).toISOString()}`);
    expect(range.headers.get('content-disposition')).toBe('attachment; filename="EURUSD_otc_20241122T180000Z_20241122T180000Z.csv"');
    expect(range.text.trimEnd().split('\n').slice(1).map((l) => l.split(',')[2])).toEqual([`${T0 + 1}`, `${T0 + 2}`, `${T0 + 3}`]);

    const target = await app();
    expect((await importCsv(target.url, all.text)).body).toEqual({ imported: 6, duplicates: 0, invalid: 0, invalidLines: [] });
    expect(await rows(target.db)).toEqual(stored);
  });

  test('bad queries are 400s naming the field; a pair nobody stored exports the header only', async () => {
    const t = await app();
    for (const [query, field] of [
      ['', 'pair'],
      ['?pair=EUR%20USD', 'pair'],
      ['?pair=EUR/USD_otc&from=yesterday', 'from'],
      ['?pair=EUR/USD_otc&to=2024-02-30', 'to'],
      [`?pair=EUR/USD_otc&from=${T0 + 10}&to=${T0}`, 'from'],
    ] as const) {
      const res = await fetch(`${t.url}/api/export${query}`);
      expect({ query, status: res.status, field: ((await res.json()) as { details: { field: string }[] }).details[0]!.field }).toEqual({ query, status: 400, field });
    }
    const none = await exportCsv(t.url, '?pair=NOPE');
    expect(none.status).toBe(200);
    expect(none.text).toBe('pair,price,timestamp,id\n');
  });

  test('a long export is not cut by the 10 s read deadline of other GETs (here 50 ms), even read slowly', async () => {
    const t = await app({}, { httpLimits: { apiReadTimeoutMs: 50 } });
    const n = 60_000;
    const ticks = Array.from({ length: n }, (_, i): Tick => ({ pair: 'EUR/USD_otc', price: 1 + (i % 1000) / 10_000, timestamp: asEpochMs(T0 + i) }));
    for (let i = 0; i < n; i += 10_000) await insertTicks(t.db.pool, ticks.slice(i, i + 10_000).map((x) => toRow(x)));
    // Without Accept-Encoding (plain bytes), pausing after the first chunk so the answer outlives the deadline.
    const text = await new Promise<string>((resolve, reject) => {
      http.get(`${t.url}/api/export?pair=EUR/USD_otc`, (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        const chunks: Buffer[] = [];
        let paused = false;
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          if (!paused) {
            paused = true;
            res.pause();
            setTimeout(() => res.resume(), 500);
          }
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      }).on('error', reject);
    });
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(n + 1);
    expect(lines.at(-1)).toBe(`EUR/USD_otc,${ticks.at(-1)!.price},${T0 + n - 1},`);
  });
});

/** /proc/<pid>/status's peak resident set (VmHWM), in bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

describe('a large import over HTTP', () => {
  test('an 80 MB CSV streamed in is imported in bounded memory, with progress logged', async () => {
    const db = await createTestSchema();
    cleanups.push(() => db.drop());
    await migrate(db.pool, log);
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(TEST_REDIS_URL, prefix));
    const child = new Child(
      'src/main.ts',
      serverEnv(TEST_REDIS_URL, prefix, db.url, {
        PERSIST_CONSUMER: `csv-http-${prefix}`,
        // A heap cap makes V8 collect as it goes, so the peak RSS shows what is held, not garbage not
        // yet collected (uncapped, V8 lets it reach about the file's size before a full collection). A
        // server holding the body would run out of heap (as text) or grow by the file size (as a Buffer).
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=128`.trim(),
      }),
    );
    cleanups.push(() => child.kill('SIGKILL'));
    const { url } = JSON.parse(await child.waitForLine(/QuFLX is running/, 60_000)) as { url: string };
    // The persister thread loads its modules after that line: not part of the import's memory.
    await child.waitForLine(/persister thread ready/, 60_000);
    const pid = child.process.pid!;
    // Warm up the import path (modules, pools, the first batch), then take the peak so far.
    expect((await importCsv(url, csvOf(...Array.from({ length: 20_000 }, (_, i) => line('GBP/USD_otc', 1 + i / 1e6, i))))).body).toMatchObject({ imported: 20_000 });
    const before = await peakRss(pid);

    // ~200-byte lines (an extra column the import ignores): 80 MB in about 420k ticks, made as it is sent.
    const size = 80 * 1024 * 1024;
    const pad = 'x'.repeat(150);
    let sent = 0;
    let ticks = 0;
    const body = Readable.from(
      (function* () {
        yield 'pair,price,timestamp,id,comment\n';
        while (sent < size) {
          let chunk = '';
          for (let k = 0; k < 500; k++, ticks++) chunk += `EUR/USD_otc,${(1 + (ticks % 10_000) / 100_000).toFixed(5)},${T0 + ticks},${ticks},${pad}\n`;
          sent += chunk.length;
          yield chunk;
        }
      })(),
    );
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${url}/api/import`, { method: 'POST', headers: { 'content-type': 'text/csv' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      body.pipe(req);
    });
    expect(answer.status, answer.text).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ imported: ticks, duplicates: 0, invalid: 0, invalidLines: [] });
    expect(sent).toBeGreaterThanOrEqual(size);
    expect(await db.count(`SELECT count(*)::int AS n FROM historical_ticks WHERE pair = 'EUR/USD_otc'`)).toBe(ticks);

    const growth = (await peakRss(pid)) - before;
    expect(growth).toBeLessThan(size / 2);
    await waitFor(() => child.lines.some((l) => l.includes('csv import progress')), 5000, 'a progress line in the server log');
    const progress = child.lines.filter((l) => l.includes('csv import progress')).map((l) => JSON.parse(l) as { bytes: number; lines: number });
    expect(progress.at(-1)!.bytes).toBeGreaterThan(0);
    console.log(`80 MB import: ${ticks} ticks, peak RSS growth ${(growth / 1024 / 1024).toFixed(1)} MB, ${progress.length} progress lines`);
  }, 300_000);
});
