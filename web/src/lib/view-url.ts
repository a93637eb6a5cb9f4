import { pairProblem } from '../../../src/core/pair.js';
import { parseChartTimeframe, type ChartTimeframe } from './timeframes.js';

export type Layout = 1 | 2 | 3 | 4;

export function isLayout(v: unknown): v is Layout {
  return v === 1 || v === 2 || v === 3 || v === 4;
}

/** What a link opens: `/?pair=<pair>&tf=<TF|tick>&layout=<1..4>`. */
export interface View {
  pair: string | null;
  tf: ChartTimeframe;
  layout: Layout;
}

/** The parts of a view a query string names validly; anything else is left out (the page's defaults fill in). */
export function parseView(search: string): Partial<View> {
  const q = new URLSearchParams(search);
  const out: Partial<View> = {};
  const pair = q.get('pair');
  if (pair !== null && pairProblem(pair) === null) out.pair = pair;
  const tf = parseChartTimeframe(q.get('tf'));
  if (tf) out.tf = tf;
  const layout = Number(q.get('layout'));
  if (isLayout(layout)) out.layout = layout;
  return out;
}

/** The query string of a view; `/` stays readable in the pair (`EUR/USD_otc`). */
export function viewSearch(view: View): string {
  const parts: string[] = [];
  if (view.pair) parts.push(`pair=${encodeURIComponent(view.pair).replace(/%2F/gi, '/')}`);
  parts.push(`tf=${view.tf}`, `layout=${view.layout}`);
  return `?${parts.join('&')}`;
}
