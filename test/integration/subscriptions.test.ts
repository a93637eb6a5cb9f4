import { describe, expect, test } from 'vitest';
import { collectorStarter, makeTicks, type TickCollector } from '../helpers/socket-client.js';
import { appStarter, postTicks, waitFor } from '../helpers/test-app.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';

const cleanups = cleanupsAfterEach();
const app = appStarter(cleanups);
const collector = collectorStarter(cleanups);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const unsubscribe = (c: TickCollector, pair: string) => c.socket.timeout(5000).emitWithAck('unsubscribe', { pair });

describe('subscriptions are counted per instrument', () => {
  test.each([
    ['before the pair has ticks', false],
    ['after the pair has ticks', true],
  ])('a client unsubscribing NZDUSD_otc does not silence NZD/USD_otc subscribers (%s)', async (_, known) => {
    const t = await app();
    const base = Date.now() - 20_000;
    let sent = 0;
    if (known) {
      expect((await postTicks(t.url, makeTicks('NZD/USD_otc', 5, base))).body.accepted).toBe(5);
      sent = 5;
    }
    const victim = await collector(t.url);
    expect(await victim.subscribe('NZD/USD_otc')).toMatchObject({ ok: true, seq: sent });
    const other = await collector(t.url);
    expect(await other.subscribe('NZDUSD_otc')).toMatchObject({ ok: true, seq: sent });
    expect(await unsubscribe(other, 'NZDUSD_otc')).toEqual({ ok: true });

    const ticks = makeTicks('NZD/USD_otc', 100, base + 1000);
    expect((await postTicks(t.url, ticks)).body.accepted).toBe(100);
    await waitFor(() => victim.ticks('NZD/USD_otc').length >= 100, 10_000, 'ticks at the remaining subscriber');
    expect(victim.ticks('NZD/USD_otc').map((x) => x.seq)).toEqual(range(sent + 1, sent + 100));
    expect(other.received.size).toBe(0);
  });

  test('unsubscribing under another spelling ends the one subscription; the socket is then told nothing more', async () => {
    const t = await app();
    const c = await collector(t.url);
    expect(await c.subscribe('AUD/CAD_otc')).toMatchObject({ ok: true });
    expect((await postTicks(t.url, makeTicks('AUD/CAD_otc', 5, Date.now() - 20_000))).body.accepted).toBe(5);
    await waitFor(() => c.ticks('AUD/CAD_otc').length === 5, 5000, 'first ticks');
    expect(await unsubscribe(c, 'AUDCAD_otc')).toEqual({ ok: true });
    expect((await postTicks(t.url, makeTicks('AUD/CAD_otc', 5, Date.now() - 10_000))).body.accepted).toBe(5);
    // A second socket proves the ticks went out.
    const witness = await collector(t.url);
    await witness.subscribe('AUD/CAD_otc');
    expect((await postTicks(t.url, makeTicks('AUD/CAD_otc', 5, Date.now() - 5000))).body.accepted).toBe(5);
    await waitFor(() => witness.ticks('AUD/CAD_otc').length === 5, 5000, 'ticks at the witness');
    await new Promise((r) => setTimeout(r, 200));
    expect(c.ticks('AUD/CAD_otc')).toHaveLength(5);
  });
});
