/**
 * The nodes a REDIS_URL names: one URL, or a comma-separated list of a Redis Cluster's nodes
 * (`redis://a:7000,redis://b:7001`, or `redis://a:7000,b:7001` with the first one's scheme and login).
 */
export function redisUrls(url: string): string[] {
  const parts = url.split(',').map((s) => s.trim()).filter(Boolean);
  const first = new URL(parts[0]!);
  return parts.map((p, i) => {
    if (i === 0 || /^[a-z][a-z0-9+.-]*:\/\//i.test(p)) return p;
    const u = new URL(first.href);
    const [host, port] = p.split(':');
    u.hostname = host!;
    u.port = port ?? '';
    return u.href;
  });
}

