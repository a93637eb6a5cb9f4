/**
 * The connection string as libpq would read it. node-postgres 8 reads `sslmode=require` as
 * verify-full (the server's certificate must chain to a public CA, which Supabase's pooler
 * certificate does not) and warns that this will change; libpq's meaning is "encrypt, do not
 * verify". `uselibpqcompat=true` asks node-postgres for libpq's meaning of every sslmode
 * (verify-full still verifies; sslrootcert= gives the CA).
 */
export function libpqUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url; // not a URL (config checks that): leave it to pg to report
  }
  if (!u.searchParams.has('sslmode') || u.searchParams.has('uselibpqcompat')) return url;
  u.searchParams.set('uselibpqcompat', 'true');
  return u.toString();
}
