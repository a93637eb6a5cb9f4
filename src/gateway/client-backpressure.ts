import type { Socket } from 'socket.io';

/** The most the server holds for one client that is not reading. */
export interface ClientBufferLimits {
  /** Bytes waiting for the client: packets not yet handed to the transport plus the websocket's unsent bytes. */
  maxBytes: number;
  /** Packets not yet handed to the transport (a long-polling client that does not poll). */
  maxPackets: number;
}

/**
 * A client reading at network speed holds next to nothing here (the kernel's socket buffers take
 * the stream); these are minutes of a busy pair, and a few times the biggest subscribe answer.
 */
export const CLIENT_BUFFER_LIMITS: ClientBufferLimits = { maxBytes: 2 * 1024 * 1024, maxPackets: 5000 };

export interface BufferedStats {
  transport: string;
  bytes: number;
  packets: number;
}

interface Packet {
  data?: string | Buffer | ArrayBuffer;
}

/** engine.io's connection, as far as this needs it (its write buffer is not in its public types). */
interface EngineConnection {
  writeBuffer: Packet[];
  transport: { name: string; socket?: { bufferedAmount?: number; terminate?: () => void } };
  on(event: 'packetCreate', listener: (packet: Packet) => void): void;
  on(event: 'flush', listener: () => void): void;
  close(discard?: boolean): void;
}

const size = (data: Packet['data']): number => (data === undefined ? 0 : typeof data === 'string' ? data.length : data.byteLength);

/**
 * Bounds what the server buffers for one client. Socket.IO queues every packet for a client that
 * does not read (a websocket whose reader stopped, a long-polling client that stopped polling),
 * without limit. This counts the bytes and packets waiting at each new packet, and once either
 * passes its limit calls `onTooFarBehind` (once, on the next turn). Whoever is called closes the
 * connection with `dropConnection`; the client reconnects and backfills by seq.
 */
export function watchClientBuffer(socket: Socket, limits: ClientBufferLimits, onTooFarBehind: (stats: BufferedStats) => void): void {
  const conn = socket.conn as unknown as EngineConnection;
  // Bytes of the packets in the write buffer: it only grows between flushes, which empty it.
  let queuedBytes = 0;
  let tripped = false;
  conn.on('flush', () => (queuedBytes = 0));
  conn.on('packetCreate', (packet) => {
    if (tripped) return;
    queuedBytes += size(packet.data);
    const packets = conn.writeBuffer.length + 1;
    const bytes = queuedBytes + (conn.transport.socket?.bufferedAmount ?? 0);
    if (packets <= limits.maxPackets && bytes <= limits.maxBytes) return;
    tripped = true;
    // Not inside the broadcast that is writing to it.
    setImmediate(() => onTooFarBehind({ transport: conn.transport.name, bytes, packets }));
  });
}

/**
 * Closes a client's connection now, discarding what waits for it: a websocket is torn down at once
 * (a closing handshake would wait behind the unread bytes). The client sees the transport close
 * and reconnects.
 */
export function dropConnection(socket: Socket): void {
  const conn = socket.conn as unknown as EngineConnection;
  const ws = conn.transport.name === 'websocket' ? conn.transport.socket : undefined;
  conn.close(true);
  ws?.terminate?.();
}
