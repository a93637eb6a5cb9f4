import { findTicks, type RawTick } from './tick-shapes.js';

/** A WebSocket frame as the DevTools protocol reports it: text as is, binary as base64. */
export interface WsFrame {
  /** 1 text, 2 binary (others are control frames). */
  opcode: number;
  payloadData: string;
}

/**
 * What one frame gave:
 * - `ticks`: the frame completed a message holding ticks;
 * - `pending`: part of a Socket.IO binary event whose attachments are still to come;
 * - `control`: Engine.IO / Socket.IO housekeeping (open, ping, pong, connect, ...);
 * - `no-ticks`: a well-formed message without a tick shape;
 * - `bad-json`, `bad-packet`: a message that could not be read;
 * - `orphan-attachment`: a binary frame no binary event announced.
 */
export type FrameStatus = 'ticks' | 'pending' | 'control' | 'no-ticks' | 'bad-json' | 'bad-packet' | 'orphan-attachment';

export interface FrameResult {
  status: FrameStatus;
  ticks: RawTick[];
  /** A binary event was waiting for attachments that never came (another message came first). */
  abandoned: boolean;
}

/** More attachments than this in one event is taken as a bad packet (each is held until the last arrives). */
export const MAX_ATTACHMENTS = 256;

interface PendingEvent {
  isAck: boolean;
  args: unknown[];
  expected: number;
  attachments: unknown[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the frames one WebSocket receives, in order: Engine.IO v3/v4 packets carrying Socket.IO
 * packets (`42[event, ...args]`, acks, and binary events `45N-[...]` whose N placeholders are
 * filled by the next N binary frames; Engine.IO v3 puts a 0x04 byte before each), or plain JSON.
 * Keeps the state of a binary event in progress, so each socket needs its own decoder.
 */
export class SocketFrameDecoder {
  /** Engine.IO protocol version once known (from the socket URL or the open packet). */
  private eio: 3 | 4 | null;
  private pending: PendingEvent | null = null;

  constructor(url?: string) {
    const m = url ? /[?&]EIO=(\d)/.exec(url) : null;
    this.eio = m?.[1] === '3' ? 3 : m?.[1] === '4' ? 4 : null;
  }

  get engineIoVersion(): 3 | 4 | null {
    return this.eio;
  }

  decode(frame: WsFrame): FrameResult {
    if (frame.opcode === 1) return this.text(frame.payloadData);
    if (frame.opcode === 2) return this.binary(frame.payloadData);
    return result('control');
  }

  private text(s: string): FrameResult {
    const c = s.charCodeAt(0);
    if (c >= 0x30 && c <= 0x36) return this.engineIoPacket(s);
    if (s[0] === '[' || s[0] === '{') return this.withAbandoned(this.payload(s));
    return this.withAbandoned(result(s.length === 0 ? 'bad-packet' : 'no-ticks'));
  }

  private engineIoPacket(s: string): FrameResult {
    switch (s[0]) {
      case '0':
        this.learnVersion(s.slice(1));
        return this.withAbandoned(result('control'));
      case '4':
        return this.message(s.slice(1));
      default:
        // close, ping, pong (also `2probe`/`3probe`), upgrade, noop: housekeeping that may
        // legitimately arrive between a binary event and its attachments.
        return result(this.pending ? 'pending' : 'control');
    }
  }

  private learnVersion(json: string): void {
    try {
      const open = JSON.parse(json) as unknown;
      // Only Engine.IO v4's handshake carries maxPayload.
      if (typeof open === 'object' && open !== null) this.eio = 'maxPayload' in open ? 4 : 3;
    } catch {
      /* an unreadable handshake tells nothing */
    }
  }

  /** The body of an Engine.IO message: a Socket.IO packet, or raw JSON from a bare Engine.IO socket. */
  private message(body: string): FrameResult {
    const c = body.charCodeAt(0);
    if (c >= 0x30 && c <= 0x36) return this.socketIoPacket(body);
    if (body[0] === '[' || body[0] === '{') return this.withAbandoned(this.payload(body));
    return this.withAbandoned(result('no-ticks'));
  }

  private socketIoPacket(p: string): FrameResult {
    const type = p.charCodeAt(0) - 0x30;
    let i = 1;
    let expected = 0;
    if (type === 5 || type === 6) {
      const dash = p.indexOf('-', i);
      const digits = dash < 0 ? '' : p.slice(i, dash);
      if (!/^\d{1,6}$/.test(digits)) return this.withAbandoned(result('bad-packet'));
      expected = Number(digits);
      if (expected > MAX_ATTACHMENTS) return this.withAbandoned(result('bad-packet'));
      i = dash + 1;
    }
    if (p[i] === '/') {
      const comma = p.indexOf(',', i);
      if (comma < 0) return this.withAbandoned(result('control')); // `40/chat` and the like
      i = comma + 1;
    }
    while (i < p.length && p.charCodeAt(i) >= 0x30 && p.charCodeAt(i) <= 0x39) i++; // ack id
    // 0 connect, 1 disconnect, 4 connect error: no application data.
    if (type === 0 || type === 1 || type === 4) return this.withAbandoned(result('control'));

    let args: unknown;
    try {
      args = JSON.parse(p.slice(i));
    } catch {
      return this.withAbandoned(result('bad-json'));
    }
    if (!Array.isArray(args)) return this.withAbandoned(result('bad-packet'));
    const isAck = type === 3 || type === 6;
    if (expected === 0) return this.withAbandoned(eventResult(args, isAck));
    const abandoned = this.pending !== null;
    this.pending = { isAck, args, expected, attachments: [] };
    return { ...result('pending'), abandoned };
  }

  private binary(base64: string): FrameResult {
    const pending = this.pending;
    if (!pending) return result('orphan-attachment');
    let bytes: Uint8Array = Buffer.from(base64, 'base64');
    // Engine.IO v3 sends each binary packet with its type byte (4, message) in front.
    if (this.eio !== 4 && bytes[0] === 0x04) bytes = bytes.subarray(1);
    pending.attachments.push(attachmentValue(bytes));
    if (pending.attachments.length < pending.expected) return result('pending');
    this.pending = null;
    const args = fillPlaceholders(pending.args, pending.attachments) as unknown[];
    return eventResult(args, pending.isAck);
  }

  /** A plain JSON message: the whole value is the payload. */
  private payload(json: string): FrameResult {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      return result('bad-json');
    }
    const ticks = findTicks(value);
    return { status: ticks.length > 0 ? 'ticks' : 'no-ticks', ticks, abandoned: false };
  }

  /** A new message while a binary event waited for attachments: that event is given up. */
  private withAbandoned(r: FrameResult): FrameResult {
    if (!this.pending) return r;
    this.pending = null;
    return { ...r, abandoned: true };
  }
}

function result(status: FrameStatus): FrameResult {
  return { status, ticks: [], abandoned: false };
}

/** Ticks in an event's arguments (after its name) or in an ack's values. */
function eventResult(args: unknown[], isAck: boolean): FrameResult {
  const ticks: RawTick[] = [];
  for (let k = isAck ? 0 : 1; k < args.length; k++) findTicks(args[k], ticks);
  return { status: ticks.length > 0 ? 'ticks' : 'no-ticks', ticks, abandoned: false };
}

/** An attachment's content: JSON text as its value (brokers send ticks that way), else its size only. */
function attachmentValue(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    return { binaryBytes: bytes.length };
  }
}

function fillPlaceholders(value: unknown, attachments: unknown[]): unknown {
  if (Array.isArray(value)) return value.map((v) => fillPlaceholders(v, attachments));
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    if (o._placeholder === true && typeof o.num === 'number') return o.num in attachments ? attachments[o.num] : null;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = fillPlaceholders(v, attachments);
    return out;
  }
  return value;
}
