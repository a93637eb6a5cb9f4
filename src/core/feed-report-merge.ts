import type { FeedReport, PairHealth } from '../shared/http.js';

/**
 * One `feed` report for several worker processes (WORKERS=N), so /health reads the same whichever
 * worker answers. Each worker watches only the ticks it accepted: the feed runs in one worker, and
 * HTTP posts land on any. So:
 * - the link (status and details) is the one report that runs a feed (status other than `off`);
 * - a pair known to several workers is reported as the worker that heard it last sees it (its age,
 *   gap and stale flag: a worker a client stopped posting to would call it stale), while
 *   suspicion adds up: suspect if any worker flagged it, suspect ticks summed, the latest jump.
 * Null for no reports.
 */
export function mergeFeedReports(reports: readonly FeedReport[]): FeedReport | null {
  if (reports.length === 0) return null;
  const link = reports.find((r) => r.status !== 'off') ?? reports[0]!;
  const byPair = new Map<string, PairHealth>();
  for (const report of reports) {
    for (const p of report.pairs) {
      const seen = byPair.get(p.pair);
      if (!seen) {
        byPair.set(p.pair, { ...p });
        continue;
      }
      const fresher = p.ageMs < seen.ageMs ? p : seen;
      const lastSuspect = latestJump(seen.lastSuspect, p.lastSuspect);
      byPair.set(p.pair, {
        ...fresher,
        suspect: seen.suspect || p.suspect,
        suspectTicks: seen.suspectTicks + p.suspectTicks,
        lastSuspect,
      });
    }
  }
  const pairs = [...byPair.values()];
  return {
    ...link,
    pairs,
    stale: pairs.filter((p) => p.stale).map((p) => p.pair),
    suspect: pairs.filter((p) => p.suspect).map((p) => p.pair),
  };
}

function latestJump(a: PairHealth['lastSuspect'], b: PairHealth['lastSuspect']): PairHealth['lastSuspect'] {
  if (!a) return b;
  if (!b) return a;
  return b.timestamp > a.timestamp ? b : a;
}
