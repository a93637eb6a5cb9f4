import type { EpochMs } from './units.js';

/** A validated tick as it enters QuFLX. `id` is the feed's own id, when it gives one. */
export interface Tick {
  pair: string;
  price: number;
  timestamp: EpochMs;
  id?: string | number;
}

/** A tick after ingest: `seq` grows by one per accepted tick of its pair. */
export interface SeqTick extends Tick {
  seq: number;
}
