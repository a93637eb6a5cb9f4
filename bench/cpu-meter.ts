import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

/** CPU used during a span, in percent of one core (so 200 = both cores of a 2-core machine). */
export interface CpuShare {
  /** The whole machine. */
  machinePct: number;
  /** This process: QuFLX and the benchmark's own clients. */
  ownPct: number;
  /** Everything else: Redis, PostgreSQL, and whatever else runs on the machine. */
  otherPct: number;
}

interface Sample {
  at: number;
  busyMs: number;
  ownMs: number;
}

function sample(): Sample {
  let busyMs = 0;
  for (const c of cpus()) busyMs += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  const own = process.cpuUsage();
  return { at: performance.now(), busyMs, ownMs: (own.user + own.system) / 1000 };
}

/**
 * Starts measuring; the returned function tells the CPU used since. Latency on a small machine
 * depends on what else runs on it, so the report carries this next to the figures.
 */
export function startCpuMeter(): () => CpuShare {
  const a = sample();
  return () => {
    const b = sample();
    const wall = Math.max(1, b.at - a.at);
    const machinePct = ((b.busyMs - a.busyMs) / wall) * 100;
    const ownPct = ((b.ownMs - a.ownMs) / wall) * 100;
    return { machinePct, ownPct, otherPct: Math.max(0, machinePct - ownPct) };
  };
}

/** CPU used by other processes over `ms` while this one idles (a check before measuring). */
export async function idleCpu(ms = 1000): Promise<CpuShare> {
  const stop = startCpuMeter();
  await new Promise((r) => setTimeout(r, ms));
  return stop();
}
