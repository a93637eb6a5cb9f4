import { describe, expect, test } from 'vitest';
import { alertMarker, conditionFor, describeAlert, distanceText, firesOnNextTick, unseenFired } from './alert-logic.js';
import type { Alert } from './types.js';

const alert = (over: Partial<Alert> = {}): Alert => ({ id: 1, pair: 'EUR/USD_otc', condition: 'above', price: 1.085, note: null, createdAt: 1_700_000_000_000, triggeredAt: null, trigger: null, ...over });

describe('alerts as the page shows them', () => {
  test('a level over the price waits for a rise, under it for a fall', () => {
    expect(conditionFor(1.0855, 1.085)).toBe('above');
    expect(conditionFor(1.0845, 1.085)).toBe('below');
    expect(conditionFor(1.085, 1.085)).toBe('above');
    expect(conditionFor(1.2, null)).toBe('above');
  });

  test('already crossed (the server fires on the next tick): at or beyond the level, touching counts', () => {
    expect(firesOnNextTick('above', 1.085, 1.0851)).toBe(true);
    expect(firesOnNextTick('above', 1.085, 1.085)).toBe(true);
    expect(firesOnNextTick('above', 1.085, 1.0849)).toBe(false);
    expect(firesOnNextTick('below', 1.085, 1.0849)).toBe(true);
    expect(firesOnNextTick('below', 1.085, 1.0851)).toBe(false);
    expect(firesOnNextTick('below', 1.085, null)).toBe(false);
  });

  test('text: the alert and the distance to it', () => {
    expect(describeAlert(alert(), 5)).toBe('EUR/USD_otc above 1.08500');
    expect(distanceText(1.0861, 1.085)).toBe('+0.101%');
    expect(distanceText(1.0839, 1.085)).toBe('−0.101%');
    expect(distanceText(1.0839, null)).toBe('');
  });

  test('the marker sits on the bar of the tick that fired it, at that tick\'s price', () => {
    // 2024-11-22 12:03:20.500 UTC: the 1M bar 12:03, the 5M bar 12:00.
    const fired = alert({ triggeredAt: 1_732_277_000_600, trigger: { price: 1.08512, timestamp: 1_732_277_000_500 } });
    expect(alertMarker(fired, 60)).toEqual({ time: 1_732_276_980, price: 1.08512 });
    expect(alertMarker(fired, 300)).toEqual({ time: 1_732_276_800, price: 1.08512 });
    expect(alertMarker(alert(), 60)).toBeNull();
  });

  test('fired while away: after the last one seen, oldest first', () => {
    const list = [alert({ id: 1, triggeredAt: 300 }), alert({ id: 2 }), alert({ id: 3, triggeredAt: 200 }), alert({ id: 4, triggeredAt: 100 })];
    expect(unseenFired(list, 150).map((a) => a.id)).toEqual([3, 1]);
    expect(unseenFired(list, 300)).toEqual([]);
  });
});
