import { expect, test } from 'vitest';
import { dayOf, partitionName } from '../../src/db/tick-partitions.js';

test('a tick belongs to the partition of its UTC day', () => {
  expect(dayOf(Date.UTC(1970, 0, 1))).toBe(0);
  expect(dayOf(Date.UTC(2024, 10, 22, 23, 59, 59, 999))).toBe(20049);
  expect(dayOf(Date.UTC(2024, 10, 23))).toBe(20050);
  expect(partitionName(20049)).toBe('ticks_20241122');
  expect(partitionName(dayOf(Date.UTC(2000, 1, 29, 12)))).toBe('ticks_20000229');
});
