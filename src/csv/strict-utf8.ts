/**
 * Input that must be UTF-8 and is not (a Latin-1 or Windows-1252 export, a truncated file) would be
 * read with U+FFFD in place of every bad byte, so distinct ids collapse into one and valid ticks
 * pass as duplicates. This checks the bytes on their way to the CSV parser and stops at the first
 * byte that is not UTF-8, naming its line.
 */
import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';

export class NotUtf8Error extends Error {
  constructor(
    readonly line: number,
    readonly byte: number,
  ) {
    super(
      `line ${line}: not valid UTF-8 (byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')}); ` +
        'the file must be UTF-8 (save it as "CSV UTF-8", or convert it, e.g. iconv -f latin1 -t utf-8)',
    );
    this.name = 'NotUtf8Error';
  }
}

/** Bytes a sequence has, from its lead byte; 0 for a byte that cannot lead one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Where the last whole sequence ends: a sequence cut by the chunk's end waits for the next chunk. */
function wholeUpTo(buf: Buffer): number {
  for (let i = buf.length - 1; i >= Math.max(0, buf.length - 4); i--) {
    const b = buf[i]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    const n = sequenceLength(b);
    return n > 0 && i + n > buf.length ? i : buf.length;
  }
  return buf.length;
}

/** Offset of the first byte that is not part of a valid UTF-8 sequence, or -1. */
export function firstInvalidByte(buf: Uint8Array): number {
  for (let i = 0; i < buf.length; ) {
    const b = buf[i]!;
    const n = sequenceLength(b);
    if (n === 0 || i + n > buf.length) return i;
    if (n > 1) {
      const second = buf[i + 1]!;
      // The second byte's range excludes overlong forms, surrogates (ED A0..BF) and code points past U+10FFFF.
      const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
      const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
      if (second < lo || second > hi) return i;
      for (let k = 2; k < n; k++) if ((buf[i + k]! & 0xc0) !== 0x80) return i;
    }
    i += n;
  }
  return -1;
}

function countNewlines(buf: Buffer, end = buf.length): number {
  let n = 0;
  for (let at = buf.indexOf(0x0a); at >= 0 && at < end; at = buf.indexOf(0x0a, at + 1)) n++;
  return n;
}

/** A pass-through for the bytes of a file that must be UTF-8; fails with NotUtf8Error at the first bad byte. */
export function strictUtf8(): Transform {
  let carry: Buffer | null = null;
  /** The line the next byte is on (1 = the first line). */
  let line = 1;
  const fail = (buf: Buffer): NotUtf8Error => {
    const at = Math.max(0, firstInvalidByte(buf));
    return new NotUtf8Error(line + countNewlines(buf, at), buf[at] ?? 0);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      const cut = wholeUpTo(buf);
      carry = cut < buf.length ? Buffer.from(buf.subarray(cut)) : null;
      const whole = buf.subarray(0, cut);
      if (!isUtf8(whole)) return done(fail(whole));
      line += countNewlines(whole);
      done(null, whole);
    },
    flush(done: TransformCallback) {
      // A sequence cut off by the end of the file.
      done(carry ? fail(carry) : null);
    },
  });
}
