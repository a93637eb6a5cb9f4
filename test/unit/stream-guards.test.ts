import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, test } from 'vitest';
import { byteLimit, stallGuard, StalledError, TooLargeError } from '../../src/lib/stream-guards.js';

const sink = () => {
  const got: Buffer[] = [];
  return { got, stream: new Writable({ write: (c: Buffer, _e, done) => (got.push(c), done()) }) };
};

describe('byteLimit', () => {
  test('passes up to the limit, fails past it', async () => {
    const ok = sink();
    await pipeline(Readable.from([Buffer.alloc(6), Buffer.alloc(4)]), byteLimit(10), ok.stream);
    expect(Buffer.concat(ok.got)).toHaveLength(10);
    const over = sink();
    await expect(pipeline(Readable.from([Buffer.alloc(6), Buffer.alloc(5)]), byteLimit(10), over.stream)).rejects.toBeInstanceOf(TooLargeError);
    expect(Buffer.concat(over.got)).toHaveLength(6);
  });
});

describe('stallGuard', () => {
  test('a stream that keeps moving passes whole', async () => {
    const out = sink();
    async function* slow() {
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 40));
        yield Buffer.from([i]);
      }
    }
    await pipeline(Readable.from(slow()), stallGuard(150), out.stream);
    expect([...Buffer.concat(out.got)]).toEqual([0, 1, 2, 3, 4]);
  });

  test('a stream that stops moving is cut after the bound', async () => {
    const source = new PassThrough();
    source.write(Buffer.from('a'));
    const started = Date.now();
    const err = await pipeline(source, stallGuard(200), sink().stream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StalledError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });
});
