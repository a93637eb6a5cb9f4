import type { IncomingMessage } from 'node:http';
import type { ServerOptions } from 'socket.io';

type AllowRequest = NonNullable<ServerOptions['allowRequest']>;

/** What a long-polling client is told when several workers share the port. */
export function pollingRefusal(workers: number): string {
  return (
    `QuFLX runs ${workers} worker processes on this port, so HTTP long-polling cannot work (its requests would reach different workers): ` +
    "connect with the websocket transport only (socket.io-client: { transports: ['websocket'] })"
  );
}

/**
 * With WORKERS > 1 the port's connections are spread over the workers with no stickiness. A
 * WebSocket is one connection and stays on its worker; a long-polling session is a series of
 * requests, and any of them may reach a worker that does not know its session. So a polling
 * handshake is refused at once (HTTP 403, the reason in the body) instead of failing later at
 * random. The page connects over WebSocket only. One worker: nothing changes.
 */
export function refusePollingWithWorkers(options: Partial<ServerOptions>, workers: number): Partial<ServerOptions> {
  if (workers <= 1) return options;
  const inner: AllowRequest = options.allowRequest ?? ((_req, callback) => callback(null, true));
  const allowRequest: AllowRequest = (req: IncomingMessage, callback) => {
    // Only a session's first request (the handshake) comes here; its transport is in the query.
    if (new URL(req.url ?? '/', 'http://socket').searchParams.get('transport') !== 'websocket') {
      return callback(pollingRefusal(workers), false);
    }
    inner(req, callback);
  };
  return { ...options, allowRequest };
}
