import { describe, expect, test } from 'vitest';
import { mergeFeedReports } from '../../src/core/feed-report-merge.js';
import type { FeedReport, PairHealth } from '../../src/shared/http.js';

function pair(name: string, fields: Partial<PairHealth> = {}): PairHealth {
  return {
    pair: name,
    source: 'http',
    ageMs: 100,
    lastTimestamp: 1_700_000_000_000,
    usualGapMs: 60,
    stale: false,
    suspect: false,
    suspectTicks: 0,
    lastSuspect: null,
    ...fields,
  };
}

function report(fields: Partial<FeedReport>): FeedReport {
  const pairs = fields.pairs ?? [];
  return {
    kind: 'ws',
    status: 'off',
    pairs,
    stale: pairs.filter((p) => p.stale).map((p) => p.pair),
    suspect: pairs.filter((p) => p.suspect).map((p) => p.pair),
    ...fields,
  };
}

describe('mergeFeedReports', () => {
  test('no reports: null', () => {
    expect(mergeFeedReports([])).toBeNull();
  });

  test('the link comes from the worker that runs the feed, whatever its place', () => {
    const merged = mergeFeedReports([
      report({ status: 'off' }),
      report({ status: 'down', connects: 3, lastError: 'ECONNREFUSED' }),
      report({ status: 'off' }),
    ]);
    expect(merged).toEqual({ kind: 'ws', status: 'down', connects: 3, lastError: 'ECONNREFUSED', pairs: [], stale: [], suspect: [] });
  });

  test('with no feed anywhere the link is off', () => {
    expect(mergeFeedReports([report({ kind: 'none', status: 'off' }), report({ kind: 'none', status: 'off' })])?.status).toBe('off');
  });

  test('pairs of different workers are all listed, in order of first appearance', () => {
    const merged = mergeFeedReports([
      report({ status: 'up', pairs: [pair('EUR/USD_otc', { source: 'simulator' }), pair('GBP/USD_otc', { source: 'simulator' })] }),
      report({ pairs: [pair('USD/JPY_otc')] }),
    ])!;
    expect(merged.pairs.map((p) => p.pair)).toEqual(['EUR/USD_otc', 'GBP/USD_otc', 'USD/JPY_otc']);
    expect(merged.status).toBe('up');
  });

  test('a pair two workers heard: age, gap and stale flag of the one that heard it last; suspicion adds up', () => {
    const jumpA = { price: 1.2, previous: 1.08, timestamp: 1_700_000_000_500 };
    const jumpB = { price: 0.9, previous: 1.08, timestamp: 1_700_000_001_500 };
    const merged = mergeFeedReports([
      // Worker 0: the client moved away 20 s ago, so it calls the pair stale.
      report({ pairs: [pair('EUR/USD_otc', { ageMs: 20_000, usualGapMs: 100, stale: true, suspect: true, suspectTicks: 1, lastSuspect: jumpB })] }),
      // Worker 1: it heard the pair 50 ms ago.
      report({ pairs: [pair('EUR/USD_otc', { ageMs: 50, usualGapMs: 120, lastTimestamp: 1_700_000_020_000, suspectTicks: 2, lastSuspect: jumpA })] }),
    ])!;
    expect(merged.pairs).toEqual([
      pair('EUR/USD_otc', { ageMs: 50, usualGapMs: 120, lastTimestamp: 1_700_000_020_000, stale: false, suspect: true, suspectTicks: 3, lastSuspect: jumpB }),
    ]);
    expect(merged.stale).toEqual([]);
    expect(merged.suspect).toEqual(['EUR/USD_otc']);
  });

  test('a pair stale for the worker that heard it last stays stale', () => {
    const merged = mergeFeedReports([
      report({ pairs: [pair('EUR/USD_otc', { ageMs: 9000, stale: true })] }),
      report({ pairs: [pair('EUR/USD_otc', { ageMs: 30_000, stale: true })] }),
    ])!;
    expect(merged.pairs[0]!.ageMs).toBe(9000);
    expect(merged.stale).toEqual(['EUR/USD_otc']);
  });
});
