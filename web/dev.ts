/**
 * `npm run dev`: the QuFLX server plus Vite's dev server with hot reload for the browser app.
 * Open http://127.0.0.1:5173; Vite forwards /api, /health and Socket.IO to the QuFLX server.
 * If a QuFLX server already answers at QUFLX_URL (default http://127.0.0.1:3000), it is used
 * as it is; otherwise one is started here (`src/main.ts`) and stopped with Ctrl+C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const api = process.env.QUFLX_URL ?? 'http://127.0.0.1:3000';
process.env.QUFLX_URL = api;

async function healthy(): Promise<boolean> {
  try {
    const res = await fetch(`${api}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

let server: ChildProcess | null = null;
if (!(await healthy())) {
  const port = new URL(api).port || '3000';
  console.log(`[dev] starting the QuFLX server on port ${port}`);
  server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PORT: port },
  });
  server.on('exit', (code) => {
    console.log(`[dev] QuFLX server exited (${code})`);
    process.exit(code ?? 1);
  });
  const deadline = Date.now() + 120_000;
  while (!(await healthy())) {
    if (Date.now() > deadline) throw new Error('the QuFLX server did not come up within 120 s');
    await new Promise((r) => setTimeout(r, 300));
  }
} else {
  console.log(`[dev] using the QuFLX server at ${api}`);
}

const vite = await createServer({ configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)) });
await vite.listen();
vite.printUrls();

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await vite.close();
  if (server && server.exitCode === null) {
    server.kill('SIGINT');
    await new Promise((r) => server!.once('exit', r));
  }
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
