import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * Replays a plain pg_dump (statements ending at a line's ';', and COPY ... FROM stdin blocks
 * ending at '\.') on one client, so a fixture restores without psql.
 */
export async function restoreDump(client: pg.ClientBase, dump: string): Promise<void> {
  const lines = dump.split('\n');
  let statement: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (statement.length === 0 && /^COPY .* FROM stdin;$/.test(line)) {
      const data: string[] = [];
      while (lines[++i] !== '\\.') data.push(lines[i]!);
      await pipeline(Readable.from(data.length > 0 ? [data.join('\n') + '\n'] : []), client.query(copyFrom(line.slice(0, -1))));
      continue;
    }
    if (statement.length === 0 && (line.trim() === '' || line.startsWith('--'))) continue;
    statement.push(line);
    if (line.trimEnd().endsWith(';')) {
      await client.query(statement.join('\n'));
      statement = [];
    }
  }
}
