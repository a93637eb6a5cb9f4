import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { QuflxApp } from '../../src/app.js';
import { createLogger } from '../../src/observability/logger.js';
import { deleteKeys, TEST_DATABASE_URL, TEST_REDIS_URL, testConfig, uniquePrefix } from './test-app.js';

const PGBOUNCER = '/usr/sbin/pgbouncer';

/** A free TCP port on 127.0.0.1 (pgbouncer cannot listen on port 0). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

/**
 * Debian's pgbouncer in transaction mode in front of the test PostgreSQL, as Supabase's pooler
 * on port 6543 is: every transaction may run on another server connection, so no session state
 * (session advisory locks, SET, temporary tables, prepared statements) lasts between them.
 * Started on a free port from a temporary config; stop() kills it by its pid.
 */
export class PgBouncer {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly output: string[],
  ) {}

  /** `tls`: clients must use TLS (a self-signed certificate made for the run). */
  static async start(options: { tls?: boolean } = {}): Promise<PgBouncer> {
    const server = new URL(TEST_DATABASE_URL);
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'quflx-pgbouncer-'));
    const user = decodeURIComponent(server.username || 'postgres');
    const lines = [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      'default_pool_size = 10',
      'max_client_conn = 200',
      'server_lifetime = 60',
      'log_connections = 0',
      'log_disconnections = 0',
    ];
    writeFileSync(path.join(dir, 'userlist.txt'), `"${user}" ""\n`);
    if (options.tls) {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=quflx-test-pooler',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
      lines.push('client_tls_sslmode = require', `client_tls_key_file = ${path.join(dir, 'key.pem')}`, `client_tls_cert_file = ${path.join(dir, 'cert.pem')}`);
    }
    writeFileSync(path.join(dir, 'pgbouncer.ini'), lines.join('\n') + '\n');
    const args = [path.join(dir, 'pgbouncer.ini')];
    if (process.getuid?.() === 0) {
      // As root pgbouncer must drop to another user, who must be able to read its files.
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      for (const f of ['', 'userlist.txt', 'pgbouncer.ini', ...(options.tls ? ['key.pem', 'cert.pem'] : [])]) chownSync(path.join(dir, f), uid, gid);
      chmodSync(dir, 0o700);
      args.unshift('-u', 'postgres');
    }
    const output: string[] = [];
    const child = spawn(PGBOUNCER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => output.push(...b.toString().split('\n').filter(Boolean).slice(-50));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const bouncer = new PgBouncer(port, child, dir, output);
    const deadline = Date.now() + 15_000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await bouncer.stop();
        throw new Error(`pgbouncer did not start: ${output.slice(-10).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return bouncer;
  }

  /** A connection string to `database` through the pooler (`params` added to its query). */
  url(database: string, params: Record<string, string> = {}): string {
    const u = new URL(TEST_DATABASE_URL);
    u.host = `127.0.0.1:${this.port}`;
    u.pathname = `/${database}`;
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.toString();
  }

  get log(): string {
    return this.output.join('\n');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A database of its own on the test server (roles' default privileges are per database). */
export interface TestDatabase {
  name: string;
  /** Straight to PostgreSQL. */
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `quflx_t_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      try {
        // Pooled server connections may still be open to it.
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A pooler in transaction mode in front of a database of its own; close() stops both. */
export interface PooledDatabase {
  db: TestDatabase;
  bouncer: PgBouncer;
  /** Through the pooler. */
  url: string;
  /** Straight to PostgreSQL, for the test's own checks. */
  direct: pg.Pool;
  count(sql?: string): Promise<number>;
  close(): Promise<void>;
}

export async function pooledDatabase(options: { tls?: boolean } = {}): Promise<PooledDatabase> {
  const db = await createTestDatabase();
  let bouncer: PgBouncer;
  try {
    bouncer = await PgBouncer.start(options);
  } catch (err) {
    await db.drop();
    throw err;
  }
  const direct = new pg.Pool({ connectionString: db.url, max: 2 });
  direct.on('error', () => undefined); // the database is dropped WITH (FORCE) at the end
  return {
    db,
    bouncer,
    url: bouncer.url(db.name),
    direct,
    count: async (sql = 'SELECT count(*)::int AS n FROM historical_ticks') => (await direct.query<{ n: number }>(sql)).rows[0]!.n,
    close: async () => {
      await direct.end();
      await bouncer.stop();
      await db.drop();
    },
  };
}

/** QuFLX (no feed) on `databaseUrl` with a key prefix of its own; close() also deletes its keys. */
export async function startAppOn(databaseUrl: string, env: Record<string, string> = {}): Promise<{ app: QuflxApp; close(): Promise<void> }> {
  const prefix = uniquePrefix();
  const config = testConfig({ DATABASE_URL: databaseUrl, BATCH_INTERVAL_MS: '200', ...env });
  const app = await QuflxApp.start(config, createLogger(config.logLevel), { keyPrefix: prefix, persistConsumer: `pooled-${prefix}` });
  return {
    app,
    close: async () => {
      await app.close();
      await deleteKeys(TEST_REDIS_URL, prefix);
    },
  };
}
