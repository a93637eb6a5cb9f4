/**
 * The part of chrome-remote-interface (CommonJS, untyped) QuFLX uses: one raw connection, commands
 * sent with an optional flat `sessionId`, every event as one message. Commands and events are
 * typed against `devtools-protocol` where they are used.
 */
declare module 'chrome-remote-interface' {
  import type { EventEmitter } from 'node:events';

  namespace CDP {
    interface EventMessage {
      method: string;
      params: unknown;
      sessionId?: string;
    }
    interface Client extends EventEmitter {
      send(method: string, params?: object, sessionId?: string): Promise<unknown>;
      close(): Promise<void>;
      on(event: 'event', listener: (message: EventMessage) => void): this;
      on(event: 'disconnect', listener: () => void): this;
      on(event: string, listener: (...args: any[]) => void): this;
    }
    interface Options {
      /** A WebSocket URL (the browser's own endpoint), a target id, or a chooser. */
      target?: string;
      host?: string;
      port?: number;
      /** Use the protocol description bundled with the library instead of fetching the browser's. */
      local?: boolean;
    }
  }
  function CDP(options: CDP.Options): Promise<CDP.Client>;
  export = CDP;
}
