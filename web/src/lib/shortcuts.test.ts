import { describe, expect, test } from 'vitest';
import { isTypingTarget, SHORTCUTS, shortcutFor } from './shortcuts.js';

describe('keyboard shortcuts', () => {
  test('digits pick the ten timeframes in order, T the tick chart', () => {
    expect(['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'].map((key) => shortcutFor({ key }))).toEqual(
      ['5S', '15S', '30S', '1M', '5M', '15M', '30M', '1H', '4H', '1D'].map((tf) => ({ type: 'timeframe', tf })),
    );
    expect(shortcutFor({ key: 't' })).toEqual({ type: 'timeframe', tf: 'tick' });
  });

  test('pairs, tools, delete, escape, fullscreen, screenshot, help', () => {
    expect(shortcutFor({ key: 'ArrowDown' })).toEqual({ type: 'pair', step: 1 });
    expect(shortcutFor({ key: 'ArrowUp' })).toEqual({ type: 'pair', step: -1 });
    expect(shortcutFor({ key: 'h' })).toEqual({ type: 'tool', tool: 'hline' });
    expect(shortcutFor({ key: 'L' })).toEqual({ type: 'tool', tool: 'trend' });
    expect(shortcutFor({ key: 'a' })).toEqual({ type: 'tool', tool: 'alert' });
    expect(shortcutFor({ key: 'Delete' })).toEqual({ type: 'delete' });
    expect(shortcutFor({ key: 'Escape' })).toEqual({ type: 'cancel' });
    expect(shortcutFor({ key: 'f' })).toEqual({ type: 'fullscreen' });
    expect(shortcutFor({ key: 's' })).toEqual({ type: 'screenshot' });
    expect(shortcutFor({ key: '?' })).toEqual({ type: 'help' });
    expect(shortcutFor({ key: 'x' })).toBeNull();
  });

  test('never while typing, never with Ctrl, Cmd or Alt (the browser\'s shortcuts)', () => {
    for (const tag of ['input', 'textarea', 'select']) {
      const el = document.createElement(tag);
      expect(shortcutFor({ key: '1', target: el })).toBeNull();
      expect(isTypingTarget(el)).toBe(true);
    }
    const editable = document.createElement('div');
    editable.contentEditable = 'true';
    document.body.append(editable);
    expect(shortcutFor({ key: 'f', target: editable })).toBeNull();
    expect(shortcutFor({ key: 'f', target: document.createElement('button') })).toEqual({ type: 'fullscreen' });
    expect(shortcutFor({ key: 's', ctrlKey: true })).toBeNull();
    expect(shortcutFor({ key: 'c', metaKey: true })).toBeNull();
    expect(shortcutFor({ key: 'h', altKey: true })).toBeNull();
  });

  test('every key the help lists does something', () => {
    const sample: Record<string, string[]> = { '1 … 9, 0': ['1', '9', '0'], '↑ ↓': ['ArrowUp', 'ArrowDown'], Del: ['Delete'], Esc: ['Escape'] };
    for (const { keys } of SHORTCUTS) {
      for (const key of sample[keys] ?? [keys, keys.toLowerCase()]) expect(shortcutFor({ key }), key).not.toBeNull();
    }
    expect(SHORTCUTS[0]!.what).toBe('Timeframe 5s … 1d');
  });
});
