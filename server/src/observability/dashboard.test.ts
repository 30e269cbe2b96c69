import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics';

// The example Grafana dashboard (docs/dashboards/tacit.json, docs/operations.md) queries only
// metrics this server registers: a renamed or removed metric fails here, not on a bank's wall.

interface Panel {
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../../docs/dashboards/tacit.json', import.meta.url), 'utf8'),
) as { panels: Panel[] };

/** PromQL words that are not metric names: functions, aggregations, keywords. */
const PROMQL = new Set([
  'sum',
  'rate',
  'irate',
  'increase',
  'histogram_quantile',
  'by',
  'without',
  'avg',
  'max',
  'min',
  'count',
  'topk',
  'clamp_min',
  'le',
]);

/** The metric names a PromQL expression reads (label matchers, strings, ranges removed). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b/g)]
    .map((m) => m[1]!)
    .filter((w) => !PROMQL.has(w) && !/^\d/.test(w));
}

/** Every series name the server exposes: counters as such, histograms with their suffixes. */
async function exposedNames(): Promise<Set<string>> {
  const text = await createMetrics().render();
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name! + s);
  }
  return names;
}

const panels = (list: Panel[]): Panel[] => list.flatMap((p) => [p, ...panels(p.panels ?? [])]);

describe('docs/dashboards/tacit.json', () => {
  it('finds metric names in PromQL and nothing else', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, route) (rate(tacit_x_bucket{status=~"5.."}[5m])))',
      ),
    ).toEqual(['tacit_x_bucket']);
    expect(metricNames('sum(increase(a_total[1h])) / sum(b_total)')).toEqual([
      'a_total',
      'b_total',
    ]);
  });

  it('queries only metrics the server registers, and each of them', async () => {
    const exposed = await exposedNames();
    expect(exposed.has('tacit_attestations_accepted_total')).toBe(true);
    const used = new Set<string>();
    const all = panels(dashboard.panels);
    expect(all.length).toBeGreaterThan(0);
    for (const panel of all) {
      for (const { expr } of panel.targets ?? []) {
        const names = metricNames(expr);
        expect(names.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
        for (const name of names) {
          expect(exposed.has(name), `${panel.title}: ${name} is not a Tacit metric`).toBe(true);
          used.add(name.replace(/_(bucket|sum|count)$/, ''));
        }
      }
    }
    // Every metric of metrics.ts has a panel.
    const registered = [...exposed].filter(
      (n) => !/_(bucket|sum|count)$/.test(n) || !exposed.has(n.replace(/_(bucket|sum|count)$/, '')),
    );
    expect([...used].sort()).toEqual(registered.sort());
  });
});
