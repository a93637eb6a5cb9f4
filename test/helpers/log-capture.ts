import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../src/observability/logger.js';

export interface LogLine {
  level: number;
  time: number;
  msg?: string;
  [field: string]: unknown;
}

/** A pino logger whose lines a test can read back (parsed), instead of a silent one. */
export function captureLog(level = 'info'): { log: Logger; lines: LogLine[]; find(pattern: RegExp): LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text.trim()) lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  const log = pino({ level, base: { app: 'quflx' } }, sink);
  return { log, lines, find: (pattern) => lines.filter((l) => pattern.test(l.msg ?? '')) };
}
