import { Transform, type TransformCallback } from 'node:stream';

/** More bytes came than a stream may carry. */
export class TooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes`);
    this.name = 'TooLargeError';
  }
}

/** Nothing passed through a stream for too long (a reader or writer that stopped). */
export class StalledError extends Error {
  constructor(readonly ms: number) {
    super(`nothing moved for ${Math.round(ms / 1000)} s`);
    this.name = 'StalledError';
  }
}

/** Passes bytes through and fails with TooLargeError once more than `limit` have come. */
export function byteLimit(limit: number): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      bytes += chunk.length;
      if (bytes > limit) return done(new TooLargeError(limit));
      done(null, chunk);
    },
  });
}

/**
 * Passes chunks through and fails with StalledError when none has passed for `ms`: whichever side
 * stopped (a client that sends or reads nothing, a source that yields nothing), a stream that
 * moves nothing for that long is cut instead of holding its connections for good.
 */
export function stallGuard(ms: number): Transform {
  let timer: NodeJS.Timeout | null = null;
  const guard: Transform = new Transform({
    transform(chunk: unknown, _encoding: BufferEncoding, done: TransformCallback) {
      timer?.refresh();
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      if (timer) clearTimeout(timer);
      done();
    },
    destroy(err: Error | null, done: (error: Error | null) => void) {
      if (timer) clearTimeout(timer);
      done(err);
    },
  });
  timer = setTimeout(() => guard.destroy(new StalledError(ms)), ms);
  timer.unref();
  return guard;
}
