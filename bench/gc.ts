import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

/**
 * Runs a full garbage collection, so one phase's garbage (the 200k ticks made for the ingest run,
 * say) is not collected, at the cost of the next phase's latency, while that one is measured.
 * Uses `--expose-gc` set at run time, so `npm run bench` needs no node flags. Returns false when
 * the runtime does not allow it (then phases simply run one after the other).
 */
export function collectGarbage(): boolean {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  if (!gc) return false;
  gc();
  return true;
}
