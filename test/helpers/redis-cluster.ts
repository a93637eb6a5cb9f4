import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { freePort } from '../../src/lib/processes.js';

export interface RedisClusterOptions {
  /** Masters (redis-cli insists on at least 3). [3] */
  masters?: number;
  /** Replicas of each master. [1] */
  replicasPerMaster?: number;
  /**
   * cluster-node-timeout in ms. [1500] Kept short so a failover test is quick: a replica starts
   * its election only after the master has been unreachable for this long (Redis's default of
   * 15 s would make every failover test take 15+ s).
   */
  nodeTimeoutMs?: number;
}

interface ClusterNode {
  readonly port: number;
  /** The cluster bus port (`cluster-port`), chosen free as well instead of port + 10000. */
  readonly busPort: number;
  readonly dir: string;
  child: ChildProcess | null;
  spawnError?: Error;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One command to one node on a short-lived connection; throws on any failure. */
async function nodeCommand(port: number, args: string[], timeoutMs = 2_000): Promise<unknown> {
  const c = createClient({
    url: `redis://127.0.0.1:${port}`,
    RESP: 2,
    socket: { reconnectStrategy: false, connectTimeout: timeoutMs },
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await c.sendCommand(args);
  } finally {
    if (c.isOpen) c.destroy();
  }
}

async function nodeInfo(port: number, section: string): Promise<Map<string, string>> {
  const text = String(await nodeCommand(port, section === 'cluster' ? ['CLUSTER', 'INFO'] : ['INFO', section]));
  const m = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/** A free port whose neighbours we have not handed out already (ports and bus ports must all differ). */
async function uniqueFreePort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const p = await freePort();
    if (!taken.has(p)) {
      taken.add(p);
      return p;
    }
  }
  throw new Error('no free port');
}

/**
 * A real Redis Cluster of the test's own: `masters * (1 + replicasPerMaster)` redis-server
 * processes on free ports in one temp folder, joined with `redis-cli --cluster create`.
 * Nodes can be SIGKILLed one by one (`killMaster`) to see a replica take over; `stop()` kills
 * whatever is left and removes the folder. `start()` cleans up after itself when it fails.
 */
export class RedisCluster {
  private static readonly live = new Set<RedisCluster>();
  private static exitHookInstalled = false;

  private constructor(
    readonly dir: string,
    private readonly nodes: ClusterNode[],
    private readonly opts: Required<RedisClusterOptions>,
  ) {}

  static async start(opts: RedisClusterOptions = {}): Promise<RedisCluster> {
    const o: Required<RedisClusterOptions> = {
      masters: opts.masters ?? 3,
      replicasPerMaster: opts.replicasPerMaster ?? 1,
      nodeTimeoutMs: opts.nodeTimeoutMs ?? 1500,
    };
    const total = o.masters * (1 + o.replicasPerMaster);
    const dir = mkdtempSync(path.join(tmpdir(), 'quflx-redis-cluster-'));
    const taken = new Set<number>();
    const nodes: ClusterNode[] = [];
    const cluster = new RedisCluster(dir, nodes, o);
    RedisCluster.installExitHook();
    RedisCluster.live.add(cluster);
    try {
      for (let i = 0; i < total; i++) {
        const port = await uniqueFreePort(taken);
        const busPort = await uniqueFreePort(taken);
        const nodeDir = path.join(dir, String(port));
        mkdirSync(nodeDir);
        nodes.push({ port, busPort, dir: nodeDir, child: null });
      }
      for (const n of nodes) cluster.spawnNode(n);
      await cluster.waitFor('every node to answer PING', 10_000, async () => {
        for (const n of nodes) await nodeCommand(n.port, ['PING']);
        return true;
      });
      await cluster.createCluster();
      await cluster.waitFor('the cluster to be ok with every replica in sync', 20_000, () => cluster.isReady());
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** Every node's port, masters and replicas alike (including killed nodes). */
  get ports(): number[] {
    return this.nodes.map((n) => n.port);
  }

  /** `redis://127.0.0.1:P` for every node (including killed nodes). */
  get urls(): string[] {
    return this.ports.map((p) => `redis://127.0.0.1:${p}`);
  }

  /** All node urls, comma-separated (the `REDIS_URL` form for a list of nodes). */
  get url(): string {
    return this.urls.join(',');
  }

  /** Ports of the nodes whose process is still running. */
  get livePorts(): number[] {
    return this.nodes.filter((n) => isRunning(n.child)).map((n) => n.port);
  }

  /** Pids of the nodes whose process is still running. */
  get pids(): number[] {
    return this.nodes.flatMap((n) => (isRunning(n.child) && n.child?.pid ? [n.child.pid] : []));
  }

  /** Port of the master currently serving `key`'s slot, as a live node sees it. */
  async masterPortOf(key: string): Promise<number> {
    const port = this.anyLivePort();
    const slot = Number(await nodeCommand(port, ['CLUSTER', 'KEYSLOT', key]));
    for (const s of await this.slots(port)) {
      if (slot >= s.from && slot <= s.to) return s.master;
    }
    throw new Error(`no master serves slot ${slot} (key ${key}) according to node ${port}`);
  }

  /** Ports of the masters that serve slots, ascending. */
  async masterPorts(): Promise<number[]> {
    const ports = new Set((await this.slots(this.anyLivePort())).map((s) => s.master));
    return [...ports].sort((a, b) => a - b);
  }

  /**
   * SIGKILLs the master on `port` and waits (up to 20 s) until one of its replicas has taken
   * over and every live node reports `cluster_state:ok` and routes the slots to the new master.
   * Returns the new master's port.
   */
  async killMaster(port: number): Promise<number> {
    const node = this.nodes.find((n) => n.port === port);
    if (!node || !isRunning(node.child)) throw new Error(`no running node on port ${port}`);
    // CLUSTER NODES (not SLOTS, which hides replicas that have not synced yet) of the master itself.
    const nodes = String(await nodeCommand(port, ['CLUSTER', 'NODES'])).trim().split('\n').map((l) => l.split(' '));
    const me = nodes.find((f) => f[2]?.split(',').includes('myself'));
    if (!me || !me[2]?.split(',').includes('master')) throw new Error(`node ${port} is not a master`);
    const replicas = new Set(
      nodes.filter((f) => f[3] === me[0] && !f[2]?.includes('fail')).map((f) => Number(/:(\d+)@/.exec(f[1] ?? '')?.[1])),
    );
    if (replicas.size === 0) throw new Error(`master ${port} has no replica to fail over to`);

    await killAndWait(node.child);
    let newMaster = 0;
    await this.waitFor(`a replica of ${port} (${[...replicas].join(', ')}) to take over`, 20_000, async () => {
      newMaster = 0;
      for (const r of replicas) {
        if (!this.livePorts.includes(r)) continue;
        if ((await nodeInfo(r, 'replication').catch(() => null))?.get('role') === 'master') newMaster = r;
      }
      if (!newMaster) return false;
      for (const p of this.livePorts) {
        const info = await nodeInfo(p, 'cluster');
        if (info.get('cluster_state') !== 'ok') return false;
        const slots = await this.slots(p);
        if (slots.some((s) => s.master === port)) return false;
      }
      return true;
    });
    return newMaster;
  }

  /**
   * Moves `slot` to the master on `to`, as `redis-cli --cluster reshard` does for each slot:
   * IMPORTING/MIGRATING, MIGRATE of its keys in chunks (clients meanwhile get ASK), then the
   * new owner announced to every master; waits until every live node routes it there.
   */
  async moveSlot(slot: number, to: number): Promise<void> {
    const owner = (await this.slots(this.anyLivePort())).find((s) => slot >= s.from && slot <= s.to)?.master;
    if (owner === undefined) throw new Error(`no master serves slot ${slot}`);
    if (owner === to) return;
    const [fromId, toId] = await Promise.all([owner, to].map(async (p) => String(await nodeCommand(p, ['CLUSTER', 'MYID']))));
    await nodeCommand(to, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId!]);
    await nodeCommand(owner, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId!]);
    for (;;) {
      const keys = (await nodeCommand(owner, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '100'])) as string[];
      if (keys.length === 0) break;
      await nodeCommand(owner, ['MIGRATE', '127.0.0.1', String(to), '', '0', '5000', 'KEYS', ...keys], 10_000);
    }
    for (const p of await this.masterPorts()) await nodeCommand(p, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', toId!]);
    await this.waitFor(`slot ${slot} routed to ${to} everywhere`, 20_000, async () => {
      for (const p of this.livePorts) {
        const s = (await this.slots(p)).find((x) => slot >= x.from && slot <= x.to);
        if (s?.master !== to) return false;
      }
      return true;
    });
  }

  /** SIGKILLs every node still running, waits for them to exit, removes the folder. Idempotent. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => killAndWait(n.child)));
    rmSync(this.dir, { recursive: true, force: true });
    RedisCluster.live.delete(this);
  }

  private spawnNode(n: ClusterNode): void {
    const child = spawn(
      'redis-server',
      [
        '--port', String(n.port),
        '--cluster-port', String(n.busPort),
        '--bind', '127.0.0.1',
        '--cluster-enabled', 'yes',
        '--cluster-config-file', path.join(this.dir, `nodes-${n.port}.conf`),
        '--cluster-node-timeout', String(this.opts.nodeTimeoutMs),
        '--dir', n.dir,
        '--logfile', path.join(n.dir, 'redis.log'),
        '--save', '',
        '--appendonly', 'yes',
        '--appendfsync', 'everysec',
        // A replica's first sync starts at once instead of after the default 5 s wait for others.
        '--repl-diskless-sync-delay', '0',
        // CLUSTER SLOTS lists a replica only once its replication offset is non-zero, which on
        // an idle master takes the first replication PING (every 10 s by default).
        '--repl-ping-replica-period', '1',
      ],
      { stdio: 'ignore' },
    );
    child.on('error', (err) => {
      n.spawnError = err;
    });
    n.child = child;
  }

  private async createCluster(): Promise<void> {
    const args = [
      '--cluster', 'create',
      ...this.nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas', String(this.opts.replicasPerMaster),
      '--cluster-yes',
    ];
    await new Promise<void>((resolve, reject) => {
      execFile('redis-cli', args, { timeout: 30_000 }, (err, stdout, stderr) => {
        // redis-cli --cluster reports some errors with exit code 0 and "[ERR]" in its output.
        if (err || /\[ERR\]|ERROR/.test(stdout)) {
          const out = `${stdout}\n${stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
          reject(new Error(`redis-cli --cluster create failed: ${err?.message ?? ''}\n${out}${this.logs()}`));
        } else resolve();
      });
    });
  }

  private async isReady(): Promise<boolean> {
    const total = this.nodes.length;
    for (const n of this.nodes) {
      const c = await nodeInfo(n.port, 'cluster');
      if (c.get('cluster_state') !== 'ok') return false;
      if (c.get('cluster_slots_assigned') !== '16384') return false;
      if (c.get('cluster_known_nodes') !== String(total)) return false;
      const r = await nodeInfo(n.port, 'replication');
      if (r.get('role') === 'slave' && r.get('master_link_status') !== 'up') return false;
      if (r.get('role') === 'master' && r.get('connected_slaves') !== String(this.opts.replicasPerMaster)) return false;
    }
    // Every node must also agree on who replicates whom (a client may ask any node).
    for (const n of this.nodes) {
      const s = await this.slots(n.port);
      if (s.reduce((k, x) => k + x.replicas.length, 0) < this.opts.replicasPerMaster * this.opts.masters) return false;
    }
    return true;
  }

  /** CLUSTER SLOTS of one node: slot ranges with the master's and replicas' ports. */
  private async slots(port: number): Promise<{ from: number; to: number; master: number; replicas: number[] }[]> {
    const reply = (await nodeCommand(port, ['CLUSTER', 'SLOTS'])) as [number, number, [string, number, string], ...[string, number, string][]][];
    return reply.map(([from, to, master, ...replicas]) => ({
      from: Number(from),
      to: Number(to),
      master: Number(master[1]),
      replicas: replicas.map((r) => Number(r[1])),
    }));
  }

  private anyLivePort(): number {
    const p = this.livePorts[0];
    if (p === undefined) throw new Error('no cluster node is running');
    return p;
  }

  private async waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      const dead = this.nodes.find((n) => n.spawnError);
      if (dead) throw new Error(`redis-server on ${dead.port} could not start: ${dead.spawnError?.message}`);
      try {
        if (await check()) return;
        last = undefined;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) {
        const why = last ? ` (last error: ${(last as Error).message})` : '';
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}${this.logs()}`);
      }
      await sleep(100);
    }
  }

  /** The tail of every node's log, for error messages. */
  private logs(): string {
    return this.nodes
      .map((n) => {
        const f = path.join(n.dir, 'redis.log');
        const state = isRunning(n.child) ? 'running' : 'not running';
        const tail = existsSync(f) ? readFileSync(f, 'utf8').split('\n').slice(-8).join('\n') : '(no log)';
        return `\n--- node ${n.port} (${state}) ---\n${tail}`;
      })
      .join('');
  }

  /** Last resort if a test process exits without stop(): no redis-server outlives it. */
  private static installExitHook(): void {
    if (RedisCluster.exitHookInstalled) return;
    RedisCluster.exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of RedisCluster.live) {
        for (const n of c.nodes) if (isRunning(n.child)) n.child?.kill('SIGKILL');
        rmSync(c.dir, { recursive: true, force: true });
      }
    });
  }
}

function isRunning(child: ChildProcess | null): child is ChildProcess {
  return !!child && child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

async function killAndWait(child: ChildProcess | null): Promise<void> {
  if (!isRunning(child)) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
