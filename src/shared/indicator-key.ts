/**
 * The key an indicator's values travel under (subscribe acks, `candle` events): its name and
 * parameters sorted by name, e.g. `macd(fast=12,signal=9,slow=26)`. The server keys by it and the
 * browser looks its values up by it.
 */
export function indicatorKey(spec: { readonly name: string; readonly params: Readonly<Record<string, number>> }): string {
  const params = Object.entries(spec.params)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return `${spec.name}(${params.join(',')})`;
}
