import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { afterEach, describe, expect, test } from 'vitest';
import type { Tick } from '../../src/core/tick.js';
import { TIMEFRAMES } from '../../src/core/timeframe.js';
import { asEpochMs } from '../../src/core/units.js';
import { migrate } from '../../src/db/migrate.js';
import { insertTicks, toRow } from '../../src/db/tick-repository.js';
import { createLogger } from '../../src/observability/logger.js';
import { RedisKeys } from '../../src/redis/keys.js';
import { runCli } from '../helpers/cli.js';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../helpers/test-app.js';
import { createTestSchema, type TestSchema } from '../helpers/test-db.js';

const log = createLogger('silent');
/** Well in the past, so no tick trips the "not in the future" rule. */
const T0 = Date.UTC(2024, 10, 22, 18, 0, 0);

// What each test made, removed after it.
let schemas: TestSchema[] = [];
let prefixes: string[] = [];
let dirs: string[] = [];

afterEach(async () => {
  await Promise.all(schemas.map((s) => s.drop()));
  await Promise.all(prefixes.map((p) => deleteKeys(TEST_REDIS_URL, p)));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  schemas = [];
  prefixes = [];
  dirs = [];
});

async function schema(migrated = false): Promise<TestSchema> {
  const s = await createTestSchema();
  schemas.push(s);
  if (migrated) await migrate(s.pool, log);
  return s;
}

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'quflx-csv-'));
  dirs.push(d);
  return d;
}

/** The environment for a CLI run against `db`, with a key prefix of its own. */
function envFor(db: TestSchema, prefix = uniquePrefix()): Record<string, string> {
  prefixes.push(prefix);
  return { DATABASE_URL: db.url, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix };
}

async function insert(db: TestSchema, ticks: Tick[]): Promise<void> {
  // The pool runs it in a transaction of its own (ticks and rollups commit together).
  await insertTicks(db.pool, ticks.map((t) => toRow(t)));
}

const tick = (pair: string, price: number, dt: number, id?: string | number): Tick => ({
  pair,
  price,
  timestamp: asEpochMs(T0 + dt),
  ...(id === undefined ? {} : { id }),
});

/** Every stored row's identity-bearing columns, in a stable order. */
async function rows(db: TestSchema, pair?: string) {
  const r = await db.pool.query(
    `SELECT pair, price, "timestamp"::text AS timestamp, feed_id FROM historical_ticks
     WHERE $1::text IS NULL OR pair = $1 ORDER BY pair, "timestamp", price, feed_id COLLATE "C"`,
    [pair ?? null],
  );
  return r.rows;
}

describe('csv export and import (the real CLI)', () => {
  test('export then import into an empty database gives identical rows', async () => {
    const source = await schema(true);
    const ticks = [
      tick('EUR/USD_otc', 1.0823, 0),
      tick('EUR/USD_otc', 0.1 + 0.2, 1),
      tick('EUR/USD_otc', 1e-7, 2),
      tick('EUR/USD_otc', 150.123456789012, 3),
      tick('EUR/USD_otc', 1.0823, 3), // same price, other time: another tick
      tick('EUR/USD_otc', 1.1, 4, 'abc'),
      tick('EUR/USD_otc', 1.2, 5, 42),
      tick('EUR/USD_otc', 1.3, 6, 'with,comma'),
      tick('EUR/USD_otc', 1.4, 7, 'a "quoted" id'),
      tick('EUR/USD_otc', 1.5, 8, ' spaced '),
      tick('EUR/USD_otc', 1.6, 9, 'ünïcödé ✓'),
      tick('EUR/USD_otc', 1.7, 9, 'x'.repeat(128)),
      tick('GBP/USD_otc', 1.25, 0), // another pair: not exported
    ];
    await insert(source, ticks);
    const dir = await tempDir();
    const file = path.join(dir, 'eurusd.csv');

    const exported = await runCli(['export', '--pair', 'EUR/USD_otc', '--out', file], envFor(source));
    expect(exported.stderr).toContain('exported 12 ticks of EUR/USD_otc');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toBe('');
    const text = await readFile(file, 'utf8');
    expect(text.split('\n')[0]).toBe('pair,price,timestamp,id');
    expect(text).toContain(`EUR/USD_otc,0.0000001,${T0 + 2},\n`);
    expect(text).not.toContain('GBP');

    const target = await schema();
    const imported = await runCli(['import', file], envFor(target));
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toMatch(/^imported 12 new ticks, 0 duplicates, 0 invalid lines skipped, in [\d.]+ s/);
    expect(imported.code).toBe(0);
    const want = await rows(source, 'EUR/USD_otc');
    expect(want).toHaveLength(12);
    expect(await rows(target)).toEqual(want);
  });

  test('bad lines are reported with their line numbers and nothing is written; --skip-invalid writes the good ones; re-import adds nothing', async () => {
    const db = await schema();
    const env = envFor(db);
    const dir = await tempDir();
    const file = path.join(dir, 'mixed.csv');
    await writeFile(
      file,
      [
        'pair,price,timestamp', // line 1
        `EUR/USD_otc,1.0801,${T0}`, // 2
        `EUR/USD_otc,abc,${T0 + 1}`, // 3: bad price
        '', // 4: empty, skipped
        `EUR/USD_otc,1.0802,${T0 + 2}`, // 5
        `EUR/USD_otc,1.0803,${T0 + 3}.5`, // 6: fractional timestamp
        `EUR/USD_otc,-1,${T0 + 4}`, // 7: negative price
        `GBP/USD_otc,1.2501,${T0 + 5}`, // 8
        `EUR/USD_otc,1.0804,${T0 + 6}`, // 9
        '',
      ].join('\r\n'), // Windows line ends, as Excel writes them
    );

    const refused = await runCli(['import', file], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    const lines = refused.stderr.trim().split('\n');
    expect(lines).toEqual([
      'line 3: price must be a decimal number like 1.0823, got "abc"',
      `line 6: timestamp must be an integer of milliseconds since epoch, got "${T0 + 3}.5"`,
      'line 7: price must be greater than 0',
      expect.stringMatching(/^nothing imported: 3 invalid lines in .*mixed\.csv; .*--skip-invalid to import the 4 valid lines only$/),
    ]);
    expect(await db.count()).toBe(0);

    const skipped = await runCli(['import', file, '--skip-invalid'], env);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toMatch(/^imported 4 new ticks, 0 duplicates, 3 invalid lines skipped, in /);
    expect(skipped.stderr).toContain('line 3: price must be a decimal number');
    expect((await rows(db)).map((r) => [r.pair, r.price, r.timestamp])).toEqual([
      ['EUR/USD_otc', 1.0801, String(T0)],
      ['EUR/USD_otc', 1.0802, String(T0 + 2)],
      ['EUR/USD_otc', 1.0804, String(T0 + 6)],
      ['GBP/USD_otc', 1.2501, String(T0 + 5)],
    ]);

    const again = await runCli(['import', file, '--skip-invalid'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^imported 0 new ticks, 4 duplicates, 3 invalid lines skipped, in /);
    expect(await db.count()).toBe(4);
  });

  test('a file without the needed header columns is refused with a clear message', async () => {
    const db = await schema();
    const dir = await tempDir();
    const file = path.join(dir, 'noheader.csv');
    await writeFile(file, `EUR/USD_otc,1.08,${T0}\nEUR/USD_otc,1.09,${T0 + 1}\n`);
    const run = await runCli(['import', file], envFor(db));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/line 1: the header line must name the columns pair,price,timestamp .*missing: pair, price, timestamp/);
    expect(await db.count()).toBe(0);

    const missing = await runCli(['import', path.join(dir, 'nope.csv')], envFor(db));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.csv: ENOENT/);
  });

  test("the touched pair's historical:* (and cstate:*) cache keys are deleted, another pair's are kept", async () => {
    const db = await schema();
    const prefix = uniquePrefix();
    const env = envFor(db, prefix);
    const keys = new RedisKeys(prefix);
    const redis = createClient({ url: TEST_REDIS_URL, RESP: 2 });
    await redis.connect();
    try {
      const fill = async (pair: string) => {
        for (const tf of TIMEFRAMES) {
          await redis.set(keys.historical(pair, tf), '[]', { EX: 3600 });
          await redis.hSet(keys.candleState(pair, tf), 'mark', '1');
        }
      };
      const present = async (pair: string) =>
        Promise.all(TIMEFRAMES.map(async (tf) => (await redis.exists(keys.historical(pair, tf))) + (await redis.exists(keys.candleState(pair, tf)))));
      await fill('EUR/USD_otc');
      await fill('GBP/USD_otc');

      const dir = await tempDir();
      const file = path.join(dir, 'eur.csv');
      await writeFile(file, `pair,price,timestamp\nEUR/USD_otc,1.08,${T0}\nEUR/USD_otc,1.09,${T0 + 1000}\n`);
      const run = await runCli(['import', file], env);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(await present('EUR/USD_otc')).toEqual(TIMEFRAMES.map(() => 0));
      expect(await present('GBP/USD_otc')).toEqual(TIMEFRAMES.map(() => 2));

      // A re-import adds no tick, so no cache is stale: nothing is deleted.
      await fill('EUR/USD_otc');
      const again = await runCli(['import', file], env);
      expect(again.stdout).toMatch(/^imported 0 new ticks, 2 duplicates/);
      expect(await present('EUR/USD_otc')).toEqual(TIMEFRAMES.map(() => 2));
    } finally {
      await redis.close();
    }
  });

  test('with Redis unreachable the import still commits and warns that cached candles may be stale', async () => {
    const db = await schema();
    const dir = await tempDir();
    const file = path.join(dir, 'eur.csv');
    await writeFile(file, `pair,price,timestamp\nEUR/USD_otc,1.08,${T0}\n`);
    const run = await runCli(['import', file], { ...envFor(db), REDIS_URL: 'redis://127.0.0.1:1' });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^imported 1 new tick, 0 duplicates/);
    expect(run.stderr).toMatch(/warning: could not refresh the candle cache .*EUR\/USD_otc may be stale for up to 3600 s/);
    expect(await db.count()).toBe(1);
  });

  test('export --from/--to filters inclusively (epoch ms and ISO 8601), to stdout', async () => {
    const db = await schema(true);
    await insert(db, [0, 1000, 2000, 3000, 4000].map((dt, i) => tick('EUR/USD_otc', 1 + i / 10, dt)));
    const env = envFor(db);

    const byMs = await runCli(['export', '--pair', 'EUR/USD_otc', '--from', String(T0 + 1000), '--to', String(T0 + 3000)], env);
    expect(byMs.code).toBe(0);
    expect(byMs.stdout).toBe(
      ['pair,price,timestamp,id', `EUR/USD_otc,1.1,${T0 + 1000},`, `EUR/USD_otc,1.2,${T0 + 2000},`, `EUR/USD_otc,1.3,${T0 + 3000},`, ''].join('\n'),
    );
    expect(byMs.stderr).toContain('exported 3 ticks of EUR/USD_otc');

    const byIso = await runCli(
      ['export', '--pair', 'EUR/USD_otc', '--from', new Date(T0 + 1000).toISOString(), '--to', '2024-11-22T19:00:03+01:00'],
      env,
    );
    expect(byIso.code).toBe(0);
    expect(byIso.stdout).toBe(byMs.stdout);

    const none = await runCli(['export', '--pair', 'USD/JPY_otc'], env);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('pair,price,timestamp,id\n');
  });

  test('bad command lines exit 2 with a message', async () => {
    const db = await schema();
    const env = envFor(db);
    const badFrom = await runCli(['export', '--pair', 'EUR/USD_otc', '--from', 'yesterday'], env);
    expect(badFrom.code).toBe(2);
    expect(badFrom.stderr).toContain('--from "yesterday": expected an ISO 8601 date or date-time');
    expect(badFrom.stdout).toBe('');

    const noPair = await runCli(['export'], env);
    expect(noPair.code).toBe(2);
    expect(noPair.stderr).toContain('--pair is required');

    const badPair = await runCli(['export', '--pair', 'EUR USD'], env);
    expect(badPair.code).toBe(2);
    expect(badPair.stderr).toContain('--pair "EUR USD" must start with a letter or digit');

    const reversed = await runCli(['export', '--pair', 'A', '--from', '2024-11-23', '--to', '2024-11-22'], env);
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toContain('is after --to');

    const unknown = await runCli(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain('Usage:');

    const badFlag = await runCli(['import', 'x.csv', '--skip-invalids'], env);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("Unknown option '--skip-invalids'");

    const nothing = await runCli([], env);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('Usage:');
  });

  test('ids that spreadsheets would run as formulas are exported guarded, and the round trip stays exact', async () => {
    const source = await schema(true);
    const ids = ['=HYPERLINK("http://evil.example","click")', '+1', '-2', '@SUM(A1:A9)', "'=already guarded", "''", "'plain", "'", 'plain', '=1+1'];
    await insert(source, ids.map((id, i) => tick('EUR/USD_otc', 1 + i / 100, i, id)));
    const dir = await tempDir();
    const file = path.join(dir, 'formulas.csv');
    const exported = await runCli(['export', '--pair', 'EUR/USD_otc', '--out', file], envFor(source));
    expect(exported.code).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).toContain(`EUR/USD_otc,1,${T0},"'=HYPERLINK(""http://evil.example"",""click"")"\n`);
    expect(text).toContain(`,"'+1"\n`);
    expect(text).toContain(`,"''=already guarded"\n`);
    expect(text).toContain(`,"'plain"\n`); // unchanged, quoted like every field starting with a quote
    // No field of any line starts like a formula, quoted or not.
    for (const line of text.trim().split('\n').slice(1)) {
      for (const field of line.split(',')) expect(field.replace(/^"/, ''), line).not.toMatch(/^[=+\-@\t\r]/);
    }
    const target = await schema();
    const imported = await runCli(['import', file], envFor(target));
    expect(imported.stdout).toMatch(/^imported 10 new ticks, 0 duplicates/);
    expect(await rows(target)).toEqual(await rows(source));
  });

  test('a file that is not UTF-8 (Latin-1) is refused, naming the line; nothing is written', async () => {
    const db = await schema();
    const dir = await tempDir();
    const file = path.join(dir, 'latin1.csv');
    // caf\xe9 and caf\xe8: two ids that would both read as "caf\ufffd".
    const latin1 = Buffer.from(`pair,price,timestamp,id\nEUR/USD_otc,1.1,${T0},plain\nEUR/USD_otc,1.2,${T0 + 1},caf\xe9\nEUR/USD_otc,1.3,${T0 + 2},caf\xe8\n`, 'latin1');
    await writeFile(file, latin1);
    const run = await runCli(['import', file], envFor(db));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/line 3: not valid UTF-8 \(byte 0xE9\); the file must be UTF-8/);
    expect(await db.count()).toBe(0);
    // The same file in UTF-8 imports as three distinct ticks.
    await writeFile(file, latin1.toString('latin1'), 'utf8');
    const ok = await runCli(['import', file], envFor(db));
    expect(ok.stdout).toMatch(/^imported 3 new ticks, 0 duplicates/);
  });

  test('a 1 GB line stops at the record size bound, naming the line', async () => {
    const db = await schema();
    const dir = await tempDir();
    const file = path.join(dir, 'huge.csv');
    await writeFile(file, `pair,price,timestamp,id\nEUR/USD_otc,1.1,${T0},a\nEUR/USD_otc,1.2,${T0 + 1},`);
    await truncate(file, 1024 ** 3); // the rest of the line: 1 GB of NUL bytes (a sparse file, no disk used)
    const run = await runCli(['import', file], envFor(db));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/line 3: the line is longer than 65536 bytes/);
    expect(await db.count()).toBe(0);
  });

  test('any spelling of a pair: import stores under the canonical name, export --pair finds it', async () => {
    const db = await schema(true);
    await insert(db, [tick('EUR/USD_otc', 1.1, 0)]);
    const env = envFor(db);
    const dir = await tempDir();
    const file = path.join(dir, 'spellings.csv');
    await writeFile(file, `pair,price,timestamp\nEURUSD_otc,1.2,${T0 + 1}\nEUR-USD_otc,1.3,${T0 + 2}\nUS500,5000.5,${T0}\nUS.500,5001.5,${T0 + 1}\n`);
    const imported = await runCli(['import', file], env);
    expect(imported.stdout).toMatch(/^imported 4 new ticks, 0 duplicates/);
    // Stored names: the database's spelling, else the first in the file.
    expect((await rows(db)).map((r) => r.pair)).toEqual(['EUR/USD_otc', 'EUR/USD_otc', 'EUR/USD_otc', 'US500', 'US500']);
    // The pair names are registered for the running server too.
    const redis = createClient({ url: TEST_REDIS_URL, RESP: 2 });
    await redis.connect();
    try {
      expect(await redis.hGetAll(`${env.REDIS_KEY_PREFIX}instruments`)).toEqual({ EURUSD_otc: 'EUR/USD_otc', US500: 'US500' });
    } finally {
      await redis.close();
    }
    const exported = await runCli(['export', '--pair', 'EURUSD_otc'], env);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toBe(['pair,price,timestamp,id', `EUR/USD_otc,1.1,${T0},`, `EUR/USD_otc,1.2,${T0 + 1},`, `EUR/USD_otc,1.3,${T0 + 2},`, ''].join('\n'));
    expect(exported.stderr).toContain('exported 3 ticks of EUR/USD_otc');
  });

  test('a 100,000-line import completes', async () => {
    const db = await schema();
    const dir = await tempDir();
    const file = path.join(dir, 'big.csv');
    const pairs = ['EUR/USD_otc', 'GBP/USD_otc', 'USD/JPY_otc', 'AUD/CAD_otc'];
    const lines = ['pair,price,timestamp,id'];
    for (let i = 0; i < 100_000; i++) {
      lines.push(`${pairs[i % 4]},${(1 + (i % 997) / 10_000).toFixed(5)},${T0 + i},${i % 3 === 0 ? `f${i}` : ''}`);
    }
    await writeFile(file, lines.join('\n') + '\n');

    const run = await runCli(['import', file], envFor(db), 120_000);
    // Not a TTY: at most a plain progress line every 2 s, nothing else.
    for (const l of run.stderr.split('\n').filter((x) => x !== '')) expect(l).toMatch(/^importing: \d+% \| \d+ lines \| \d+ lines\/s \| ETA /);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^imported 100000 new ticks, 0 duplicates, 0 invalid lines skipped/);
    expect(await db.count()).toBe(100_000);
    const rate = /\((\d+) lines\/s\)/.exec(run.stdout)?.[1];
    console.log(`100k-line import: ${run.stdout.trim()} (whole process ${(run.ms / 1000).toFixed(1)} s, import rate ${rate} lines/s)`);
  }, 150_000);
});
