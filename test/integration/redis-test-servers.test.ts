import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createClient, createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/lib/processes.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { TlsRedis } from '../helpers/redis-tls.js';

/** Pids of this process's redis-server children (Linux /proc). */
function redisChildren(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === process.pid && stat.includes('(redis-server)');
      } catch {
        return false;
      }
    })
    .map(Number);
}

function clusterClient(url: string) {
  const c = createCluster({ rootNodes: [{ url }], RESP: 2, defaults: { socket: { reconnectStrategy: false } } });
  c.on('error', () => undefined);
  return c;
}

/** One key per master: keys `k0`, `k1`, ... until every master has one. */
async function keyPerMaster(cluster: RedisCluster): Promise<Map<number, string>> {
  const masters = await cluster.masterPorts();
  const byMaster = new Map<number, string>();
  for (let i = 0; byMaster.size < masters.length && i < 1000; i++) {
    const key = `k${i}`;
    const port = await cluster.masterPortOf(key);
    if (!byMaster.has(port)) byMaster.set(port, key);
  }
  return byMaster;
}

describe('RedisCluster (real redis-server cluster)', () => {
  let cluster: RedisCluster;

  beforeAll(async () => {
    cluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1500 });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('has 3 masters with 1 replica each, and a client reads back keys on every master', async () => {
    expect(cluster.ports).toHaveLength(6);
    expect(new Set(cluster.ports).size).toBe(6);
    expect(cluster.url).toBe(cluster.urls.join(','));
    expect(cluster.urls[0]).toBe(`redis://127.0.0.1:${cluster.ports[0]}`);
    const masters = await cluster.masterPorts();
    expect(masters).toHaveLength(3);

    const byMaster = await keyPerMaster(cluster);
    expect([...byMaster.keys()].sort((a, b) => a - b)).toEqual(masters);

    const c = clusterClient(cluster.urls[0]!);
    await c.connect();
    try {
      for (const [port, key] of byMaster) {
        await c.set(key, `v-${port}`);
        expect(await c.get(key)).toBe(`v-${port}`);
        // masterPortOf is right: the key really lives on that node (a plain client, no redirects).
        const direct = createClient({ url: `redis://127.0.0.1:${port}`, RESP: 2 });
        await direct.connect();
        expect(await direct.get(key)).toBe(`v-${port}`);
        direct.destroy();
      }
    } finally {
      c.destroy();
    }
  });

  it('killMaster: a replica takes over and keeps the data written before', async () => {
    const key = 'failover-key';
    const oldMaster = await cluster.masterPortOf(key);
    const c = clusterClient(cluster.urls[0]!);
    await c.connect();
    try {
      await c.set(key, 'before-kill');
      // WAIT numreplicas timeout, routed to the key's master: the replica has the write.
      expect(await c.sendCommand(key, false, ['WAIT', '1', '1000'])).toBe(1);
    } finally {
      c.destroy();
    }

    const t0 = Date.now();
    const newMaster = await cluster.killMaster(oldMaster);
    const took = Date.now() - t0;
    expect(newMaster).not.toBe(oldMaster);
    expect(cluster.livePorts).not.toContain(oldMaster);
    expect(cluster.livePorts).toContain(newMaster);
    expect(await cluster.masterPortOf(key)).toBe(newMaster);
    const masters = await cluster.masterPorts();
    expect(masters).toHaveLength(3);
    expect(masters).toContain(newMaster);
    expect(masters).not.toContain(oldMaster);
    expect(took).toBeLessThan(20_000);

    const live = cluster.livePorts.find((p) => p !== newMaster)!;
    const fresh = clusterClient(`redis://127.0.0.1:${live}`);
    await fresh.connect();
    try {
      expect(await fresh.get(key)).toBe('before-kill');
      await fresh.set(key, 'after-kill');
      expect(await fresh.get(key)).toBe('after-kill');
    } finally {
      fresh.destroy();
    }
  }, 30_000);

  it('stop() kills every node and removes the folder', async () => {
    const pids = cluster.pids;
    expect(pids).toHaveLength(5); // one master was killed above
    await cluster.stop();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(existsSync(cluster.dir)).toBe(false);
    expect(redisChildren()).toEqual([]);
  });

  it('a start() that fails leaves no process behind', async () => {
    // redis-cli refuses a cluster of fewer than 3 masters, after the nodes were spawned.
    await expect(RedisCluster.start({ masters: 2, replicasPerMaster: 0 })).rejects.toThrow(/redis-cli --cluster create failed/);
    expect(redisChildren()).toEqual([]);
  });
});

describe('TlsRedis (real redis-server, TLS only, ACL user)', () => {
  const user = 'quflx-app';
  const password = 'p@ss:w/rd %x "y';
  let tls: TlsRedis;

  beforeAll(async () => {
    tls = await TlsRedis.start({ user, password });
  }, 30_000);

  afterAll(async () => {
    await tls?.stop();
  });

  async function tryPing(url: string, socket: Record<string, unknown>): Promise<string> {
    const c = createClient({ url, RESP: 2, socket: { reconnectStrategy: false, connectTimeout: 3_000, ...socket } });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return await c.ping();
    } finally {
      if (c.isOpen) c.destroy();
    }
  }

  it('exposes a CA and a percent-encoded url', () => {
    expect(tls.caPem).toContain('BEGIN CERTIFICATE');
    expect(readFileSync(tls.caFile, 'utf8')).toBe(tls.caPem);
    expect(tls.url).toBe(`rediss://quflx-app:${encodeURIComponent(password)}@127.0.0.1:${tls.port}`);
  });

  it('a TLS client trusting the CA, with the right credentials, PINGs', async () => {
    expect(await tryPing(tls.url, { tls: true, ca: tls.caPem })).toBe('PONG');
    // The certificate names localhost too.
    expect(await tryPing(tls.url.replace('127.0.0.1', 'localhost'), { tls: true, ca: tls.caPem })).toBe('PONG');
  });

  it('a wrong password is refused', async () => {
    await expect(tryPing(tls.urlWith(user, 'wrong'), { tls: true, ca: tls.caPem })).rejects.toThrow(
      /WRONGPASS|invalid username-password/,
    );
  });

  it('no credentials: the default user is disabled', async () => {
    await expect(tryPing(`rediss://127.0.0.1:${tls.port}`, { tls: true, ca: tls.caPem })).rejects.toThrow(/NOAUTH/);
  });

  it('a client that does not trust the CA fails the handshake', async () => {
    await expect(tryPing(tls.url, { tls: true })).rejects.toThrow(/certificate/i);
  });

  it('a plain (non-TLS) connection gets nothing', async () => {
    await expect(tryPing(`redis://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${tls.port}`, { tls: false })).rejects.toThrow();
    await expect(tryPing(`redis://127.0.0.1:${tls.port}`, { tls: false })).rejects.toThrow();
  });

  it('stop() ends the server', async () => {
    await tls.stop();
    await expect(tryPing(tls.url, { tls: true, ca: tls.caPem })).rejects.toThrow(/ECONNREFUSED/);
  });
});
