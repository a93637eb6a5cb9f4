import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { MAX_ATTACHMENTS, SocketFrameDecoder, type FrameResult, type WsFrame } from '../../src/core/socket-frame-decoder.js';

const text = (payloadData: string): WsFrame => ({ opcode: 1, payloadData });
const binary = (bytes: Buffer | string): WsFrame => ({ opcode: 2, payloadData: Buffer.from(bytes).toString('base64') });
const v3binary = (json: string): WsFrame => binary(Buffer.concat([Buffer.from([4]), Buffer.from(json)]));
const statuses = (rs: FrameResult[]) => rs.map((r) => r.status);

describe('recorded frames (headless Chromium, Network.webSocketFrameReceived)', () => {
  const recorded = JSON.parse(readFileSync(new URL('../fixtures/cdp/recorded-frames.json', import.meta.url), 'utf8')) as {
    frames: { socket: string; opcode: number; payloadData: string }[];
  };

  test('one decoder per socket: interleaved binary events of two sockets each complete with their own attachment', () => {
    const decoders = new Map<string, SocketFrameDecoder>();
    const out: { socket: string; status: string; ticks: unknown[]; abandoned: boolean }[] = [];
    for (const f of recorded.frames) {
      let d = decoders.get(f.socket);
      if (!d) decoders.set(f.socket, (d = new SocketFrameDecoder()));
      const r = d.decode(f);
      out.push({ socket: f.socket, status: r.status, ticks: r.ticks, abandoned: r.abandoned });
    }
    expect(out).toEqual([
      { socket: 'v4', status: 'control', ticks: [], abandoned: false }, // 0{...maxPayload}
      { socket: 'v3', status: 'control', ticks: [], abandoned: false }, // 0{...}
      { socket: 'v4', status: 'control', ticks: [], abandoned: false }, // 40{"sid"}
      { socket: 'v4', status: 'control', ticks: [], abandoned: false }, // 2
      { socket: 'v4', status: 'control', ticks: [], abandoned: false }, // 3
      { socket: 'v4', status: 'no-ticks', ticks: [], abandoned: false }, // balance
      {
        socket: 'v4',
        status: 'ticks',
        ticks: [
          { pair: 'EURUSD_otc', timestamp: 1732300000123, price: 1.08231 },
          { pair: 'GBPUSD_otc', timestamp: 1732300000456, price: 1.25102 },
        ],
        abandoned: false,
      },
      { socket: 'v3', status: 'control', ticks: [], abandoned: false }, // 40
      { socket: 'v4', status: 'pending', ticks: [], abandoned: false }, // 451-[...]
      { socket: 'v3', status: 'pending', ticks: [], abandoned: false }, // 451-[...]
      { socket: 'v3', status: 'ticks', ticks: [{ pair: 'USDJPY_otc', timestamp: 1732300001250, price: 154.321 }], abandoned: false },
      { socket: 'v4', status: 'ticks', ticks: [{ pair: 'AUDCAD_otc', timestamp: 1732300001500, price: 0.91234 }], abandoned: false },
      { socket: 'v4', status: 'ticks', ticks: [{ pair: 'EURJPY_otc', timestamp: 1732300002000, price: 163.456 }], abandoned: false },
      { socket: 'v4', status: 'bad-json', ticks: [], abandoned: false },
      { socket: 'v4', status: 'orphan-attachment', ticks: [], abandoned: false },
      { socket: 'v4', status: 'control', ticks: [], abandoned: false }, // 6 noop
    ]);
    expect(decoders.get('v4')!.engineIoVersion).toBe(4);
    expect(decoders.get('v3')!.engineIoVersion).toBe(3);
  });

  test('one decoder for both sockets would give up the first binary event: frame state must be per socket', () => {
    const d = new SocketFrameDecoder();
    const rs = recorded.frames.map((f) => d.decode(f));
    expect(rs.some((r) => r.abandoned)).toBe(true);
    expect(rs.flatMap((r) => r.ticks).map((t) => t.pair)).not.toContain('AUDCAD_otc');
  });
});

describe('Engine.IO and Socket.IO framing', () => {
  test.each(['0{"sid":"a","pingInterval":25000}', '1', '2', '3', '2probe', '3probe', '5', '6', '40', '40{"sid":"x"}', '40/trade,', '41', '44{"message":"nope"}'])(
    'control frame %j',
    (f) => {
      expect(new SocketFrameDecoder().decode(text(f)).status).toBe('control');
    },
  );

  test('a text event: ticks in every argument after the event name', () => {
    const r = new SocketFrameDecoder().decode(text('42["q",["A",1732300000,1],{"asset":"B","price":2,"time":1732300001000}]'));
    expect(r).toEqual({
      status: 'ticks',
      abandoned: false,
      ticks: [
        { pair: 'A', timestamp: 1732300000000, price: 1 },
        { pair: 'B', timestamp: 1732300001000, price: 2 },
      ],
    });
  });

  test('the event name is not data: a name that looks like a pair makes no tick', () => {
    expect(new SocketFrameDecoder().decode(text('42["EURUSD_otc",1732300000,1.08]')).status).toBe('no-ticks');
  });

  test('namespace and ack id before the arguments', () => {
    const d = new SocketFrameDecoder();
    expect(d.decode(text('42/trade,["q",["A",1732300000,1]]')).ticks).toEqual([{ pair: 'A', timestamp: 1732300000000, price: 1 }]);
    expect(d.decode(text('4217["q",["B",1732300000,1]]')).ticks).toEqual([{ pair: 'B', timestamp: 1732300000000, price: 1 }]);
    expect(d.decode(text('42/trade,17["q",["C",1732300000,1]]')).ticks).toEqual([{ pair: 'C', timestamp: 1732300000000, price: 1 }]);
  });

  test('an ack carries values only (history a page asked for)', () => {
    const r = new SocketFrameDecoder().decode(text('4312[[["A",1732300000,1],["A",1732300001,1.5]]]'));
    expect(r.ticks).toEqual([
      { pair: 'A', timestamp: 1732300000000, price: 1 },
      { pair: 'A', timestamp: 1732300001000, price: 1.5 },
    ]);
  });

  test('a binary event with two attachments completes on the second (Engine.IO v4, raw bytes)', () => {
    const d = new SocketFrameDecoder('wss://broker/socket.io/?EIO=4&transport=websocket');
    expect(d.decode(text('452-["q",{"_placeholder":true,"num":1},{"x":{"_placeholder":true,"num":0}}]')).status).toBe('pending');
    expect(d.decode(text('2')).status).toBe('pending'); // a ping between the frames is housekeeping
    expect(d.decode(binary('{"asset":"B","price":2,"ts":1732300002}')).status).toBe('pending');
    const r = d.decode(binary('[["A",1732300001.5,1.5]]'));
    // num 1 (the second frame) is the second argument: the rows; num 0 sits inside an object, not a tick shape.
    expect(r).toEqual({ status: 'ticks', abandoned: false, ticks: [{ pair: 'A', timestamp: 1732300001500, price: 1.5 }] });
  });

  test('Engine.IO v3: the 0x04 byte before each attachment is dropped', () => {
    const d = new SocketFrameDecoder('ws://b/socket.io/?EIO=3&transport=websocket');
    d.decode(text('451-["q",{"_placeholder":true,"num":0}]'));
    expect(d.decode(v3binary('[["A",1732300000,1]]')).ticks).toEqual([{ pair: 'A', timestamp: 1732300000000, price: 1 }]);
  });

  test('the version learnt from the handshake: v4 keeps a leading 0x04 byte (it is data), so the attachment is no JSON', () => {
    const d = new SocketFrameDecoder();
    d.decode(text('0{"sid":"a","maxPayload":1000000}'));
    d.decode(text('451-["q",{"_placeholder":true,"num":0}]'));
    expect(d.decode(v3binary('[["A",1732300000,1]]')).status).toBe('no-ticks');
  });

  test('a binary ack (46)', () => {
    const d = new SocketFrameDecoder();
    expect(d.decode(text('461-3[{"_placeholder":true,"num":0}]')).status).toBe('pending');
    expect(d.decode(binary('[{"symbol":"A","rate":1.25,"ts":1732300000000}]')).ticks).toEqual([{ pair: 'A', price: 1.25, timestamp: 1732300000000 }]);
  });

  test('an attachment that is not JSON (or not UTF-8) holds no tick; the event still completes', () => {
    const d = new SocketFrameDecoder();
    d.decode(text('451-["q",{"_placeholder":true,"num":0}]'));
    expect(d.decode(binary(Buffer.from([0xff, 0xfe, 0x00]))).status).toBe('no-ticks');
    expect(d.decode(text('42["q",["A",1732300000,1]]')).abandoned).toBe(false);
  });

  test('a new message before the attachments came: the waiting event is given up and counted', () => {
    const d = new SocketFrameDecoder();
    d.decode(text('451-["q",{"_placeholder":true,"num":0}]'));
    const r = d.decode(text('42["q",["A",1732300000,1]]'));
    expect(r.abandoned).toBe(true);
    expect(r.ticks).toHaveLength(1);
    // The binary frame that comes late has no event left: an orphan.
    expect(d.decode(binary('[["B",1732300000,1]]')).status).toBe('orphan-attachment');
  });

  test('orphan attachments: binary frames nothing announced', () => {
    const d = new SocketFrameDecoder();
    expect(statuses([d.decode(binary('[["A",1732300000,1]]')), d.decode(v3binary('[]'))])).toEqual(['orphan-attachment', 'orphan-attachment']);
  });

  test.each([
    ['42["q",', 'bad-json'],
    ['42{"not":"an array"}', 'bad-packet'],
    ['45["q"]', 'bad-packet'],
    ['45x-["q"]', 'bad-packet'],
    [`45${MAX_ATTACHMENTS + 1}-["q"]`, 'bad-packet'],
    ['', 'bad-packet'],
    ['hello', 'no-ticks'],
    ['4hello', 'no-ticks'],
    ['{"oops"', 'bad-json'],
  ])('%j is %s', (frame, status) => {
    expect(new SocketFrameDecoder().decode(text(frame)).status).toBe(status);
  });

  test('plain JSON frames (a bare WebSocket) and bare Engine.IO messages', () => {
    const d = new SocketFrameDecoder();
    expect(d.decode(text('{"pair":"A","price":1,"timestamp":1732300000000,"id":9}')).ticks).toEqual([{ pair: 'A', price: 1, timestamp: 1732300000000, id: 9 }]);
    expect(d.decode(text('[["A",1732300000,1]]')).ticks).toHaveLength(1);
    expect(d.decode(text('4[["A",1732300000,1]]')).ticks).toHaveLength(1);
  });

  test('other opcodes are control frames', () => {
    expect(new SocketFrameDecoder().decode({ opcode: 9, payloadData: '' }).status).toBe('control');
  });
});
