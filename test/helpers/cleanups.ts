import { afterEach } from 'vitest';

/** What a test leaves to undo (servers, sockets, schemas, keys), newest last. */
export type Cleanups = (() => unknown)[];

/**
 * An empty list of undo steps that runs after each test of the file, newest first, and is emptied
 * then. Call it at a file's top level, where afterEach hooks are registered.
 */
export function cleanupsAfterEach(): Cleanups {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return cleanups;
}
