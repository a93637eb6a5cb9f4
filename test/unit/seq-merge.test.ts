import { describe, expect, it } from 'vitest';
import { followsOn, mergeBySeq } from '../../src/core/seq-merge.js';

const s = (...seqs: number[]) => seqs.map((seq) => ({ seq, tag: `a${seq}` }));

describe('mergeBySeq', () => {
  it('orders, drops repeats and items at or before `after`', () => {
    const m = mergeBySeq(3, s(6, 4, 2, 5), s(5, 3, 7));
    expect(m.items.map((i) => i.seq)).toEqual([4, 5, 6, 7]);
    expect(m.contiguous).toBe(4);
    expect(m.missing).toBe(0);
  });

  it('a later source wins a repeated seq', () => {
    const m = mergeBySeq(0, [{ seq: 1, tag: 'old' }], [{ seq: 1, tag: 'new' }]);
    expect(m.items).toEqual([{ seq: 1, tag: 'new' }]);
  });

  it('counts the run before a hole and the seqs missing in it', () => {
    // after 10: 11, 12 follow on; 13..15 are missing; 16 and 18 are beyond the hole
    const m = mergeBySeq(10, s(18, 12, 11, 16));
    expect(m.items.map((i) => i.seq)).toEqual([11, 12, 16, 18]);
    expect(m.contiguous).toBe(2);
    expect(m.missing).toBe(3);
  });

  it('a hole right after `after` leaves no contiguous run', () => {
    const m = mergeBySeq(0, s(3, 4));
    expect(m.contiguous).toBe(0);
    expect(m.missing).toBe(2);
  });

  it('nothing newer gives an empty merge', () => {
    expect(mergeBySeq(9, s(1, 9))).toEqual({ items: [], contiguous: 0, missing: 0 });
  });
});

describe('followsOn', () => {
  it('is true only for exactly the next seqs in order', () => {
    expect(followsOn(4, s(5, 6, 7))).toBe(true);
    expect(followsOn(4, [])).toBe(true);
    expect(followsOn(4, s(6))).toBe(false);
    expect(followsOn(4, s(5, 5))).toBe(false);
    expect(followsOn(4, s(4, 5))).toBe(false);
  });
});
