import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { freePort } from '../../src/lib/processes.js';

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 20_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

/**
 * A redis-server of the test's own that speaks TLS only (no plain port), with a certificate from
 * a self-signed CA made on the spot (valid for 127.0.0.1 and localhost) and one ACL user; the
 * default user is disabled, so a connection without the right credentials gets nothing.
 */
export class TlsRedis {
  private child: ChildProcess | null = null;
  readonly caFile: string;
  readonly caPem: string;

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly user: string,
    readonly password: string,
  ) {
    this.caFile = path.join(dir, 'ca.crt');
    this.caPem = readFileSync(this.caFile, 'utf8');
  }

  static async start(opts: { user: string; password: string }): Promise<TlsRedis> {
    if (!/^[^\s]+$/.test(opts.user)) throw new Error(`ACL user names cannot be empty or hold spaces: "${opts.user}"`);
    const dir = mkdtempSync(path.join(tmpdir(), 'quflx-redis-tls-'));
    try {
      await makeCertificates(dir);
      const r = new TlsRedis(await freePort(), dir, opts.user, opts.password);
      try {
        await r.startServer();
      } catch (err) {
        await r.stop();
        throw err;
      }
      return r;
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** `rediss://user:password@127.0.0.1:P` with the user's real credentials. */
  get url(): string {
    return this.urlWith(this.user, this.password);
  }

  /** The same address with other credentials (percent-encoded). */
  urlWith(user: string, password: string): string {
    return `rediss://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${this.port}`;
  }

  private async startServer(): Promise<void> {
    let spawnError: Error | undefined;
    const log = path.join(this.dir, 'redis.log');
    const child = spawn(
      'redis-server',
      [
        '--port', '0',
        '--tls-port', String(this.port),
        '--tls-cert-file', path.join(this.dir, 'server.crt'),
        '--tls-key-file', path.join(this.dir, 'server.key'),
        '--tls-ca-cert-file', this.caFile,
        '--tls-auth-clients', 'no',
        '--bind', '127.0.0.1',
        '--dir', this.dir,
        '--logfile', log,
        '--save', '',
        '--appendonly', 'no',
        // Each rule is its own argument; redis-server quotes arguments when it joins them into
        // a config line, so a password with spaces or quotes stays one token.
        '--user', this.user, 'reset', 'on', `>${this.password}`, '~*', '&*', '+@all',
        '--user', 'default', 'reset', 'off',
      ],
      { stdio: 'ignore' },
    );
    child.on('error', (err) => {
      spawnError = err;
    });
    this.child = child;
    const deadline = Date.now() + 10_000;
    let last: unknown;
    for (;;) {
      if (spawnError) throw new Error(`redis-server could not start: ${spawnError.message}`);
      if (child.exitCode !== null) {
        const tail = existsSync(log) ? readFileSync(log, 'utf8') : '';
        throw new Error(`redis-server (TLS) exited with code ${child.exitCode}\n${tail}`);
      }
      const c = createClient({
        url: this.url,
        RESP: 2,
        socket: { tls: true, ca: this.caPem, reconnectStrategy: false, connectTimeout: 2_000 },
      });
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.ping();
        c.destroy();
        return;
      } catch (err) {
        last = err;
        if (c.isOpen) c.destroy();
        if (Date.now() > deadline) {
          throw new Error(`redis-server (TLS) on ${this.port} did not answer PING: ${(last as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** SIGKILL, then the folder (certificates included) goes. Idempotent. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
    this.child = null;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** ca.crt/ca.key (self-signed CA) and server.crt/server.key for IP:127.0.0.1 and DNS:localhost. */
async function makeCertificates(dir: string): Promise<void> {
  // Own config files: the result does not depend on the system's openssl.cnf.
  writeFileSync(
    path.join(dir, 'ca.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'x509_extensions = v3_ca',
      'prompt = no',
      '[dn]',
      'CN = QuFLX test CA',
      '[v3_ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(dir, 'server.ext'),
    [
      'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = IP:127.0.0.1, DNS:localhost',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-config', 'ca.cnf'], dir);
  await openssl(['req', '-new', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-config', 'ca.cnf', '-subj', '/CN=localhost'], dir);
  await openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'],
    dir,
  );
}
