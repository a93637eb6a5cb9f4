import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findOnPath } from '../../src/lib/processes.js';

/** Debian's promtool (package `prometheus`), or PROMTOOL; a clear failure when there is none. */
export function promtoolPath(): string {
  const found = process.env.PROMTOOL || findOnPath('promtool');
  if (!found) {
    throw new Error("promtool not found on PATH: install Debian's prometheus package (apt-get install prometheus), or set PROMTOOL to its path. .ci/run installs it.");
  }
  return found;
}

/** Runs promtool in `cwd`; its exit status and output (stdout then stderr), whatever the status. */
export async function promtool(cwd: string, ...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(promtoolPath(), args, { cwd });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
