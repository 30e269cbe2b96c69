/**
 * A self-contained SVG of lines over a shared x axis (pure: returns the document as a string),
 * in the style of `roc-svg.ts` (same palette, legend, escaping): `npm run fl:sim` draws EER
 * against round with the shipped and central encoders as flat reference lines.
 */

/** One line to draw. */
export interface SeriesInput {
  /** Legend text (escaped here). */
  label: string;
  points: readonly { x: number; y: number }[];
  /** Dashed (reference lines). */
  dashed?: boolean;
}

/** Options of {@link seriesSvg}. */
export interface SeriesSvgOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Plot width and height (px), default 480 × 300. */
  width?: number;
  height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fmt = (x: number): string => (Math.round(x * 10) / 10).toString();

/** A tick step of about `span / 5`: 1, 2 or 5 times a power of ten. */
function tickStep(span: number): number {
  const raw = span / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
}

/** The SVG document of `series` (y axis from 0 to a round tick above the largest value). */
export function seriesSvg(series: readonly SeriesInput[], options: SeriesSvgOptions = {}): string {
  const w = options.width ?? 480;
  const h = options.height ?? 300;
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  if (all.length === 0) throw new RangeError('nothing to plot');
  const xMin = Math.min(...all.map((p) => p.x));
  const xMax = Math.max(xMin + 1, ...all.map((p) => p.x));
  const yStep = tickStep(Math.max(...all.map((p) => p.y), 1e-9));
  const yMax = Math.ceil(Math.max(...all.map((p) => p.y)) / yStep) * yStep || yStep;
  const left = 60;
  const top = 40;
  const width = left + w + 20;
  const height = top + h + 50 + 18 * series.length + 10;
  const x = (v: number) => left + ((v - xMin) / (xMax - xMin)) * w;
  const y = (v: number) => top + (1 - Math.min(Math.max(v / yMax, 0), 1)) * h;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${fmt(left + w / 2)}" y="22" text-anchor="middle" font-size="14">${escapeXml(options.title ?? '')}</text>`,
  ];
  const xStep = Math.max(1, tickStep(xMax - xMin));
  for (let v = Math.ceil(xMin / xStep) * xStep; v <= xMax + 1e-9; v += xStep) {
    parts.push(
      `<line x1="${fmt(x(v))}" y1="${top}" x2="${fmt(x(v))}" y2="${top + h}" stroke="#eee"/>`,
    );
    parts.push(`<text x="${fmt(x(v))}" y="${top + h + 16}" text-anchor="middle">${v}</text>`);
  }
  for (let k = 0; k * yStep <= yMax + 1e-12; k++) {
    const v = k * yStep;
    parts.push(
      `<line x1="${left}" y1="${fmt(y(v))}" x2="${left + w}" y2="${fmt(y(v))}" stroke="#eee"/>`,
    );
    parts.push(
      `<text x="${left - 6}" y="${fmt(y(v) + 4)}" text-anchor="end">${Number(v.toPrecision(3))}</text>`,
    );
  }
  parts.push(
    `<rect x="${left}" y="${top}" width="${w}" height="${h}" fill="none" stroke="black"/>`,
  );
  parts.push(
    `<text x="${fmt(left + w / 2)}" y="${top + h + 34}" text-anchor="middle">${escapeXml(options.xLabel ?? '')}</text>`,
    `<text x="16" y="${fmt(top + h / 2)}" text-anchor="middle" transform="rotate(-90 16 ${fmt(top + h / 2)})">${escapeXml(options.yLabel ?? '')}</text>`,
  );
  series.forEach((s, n) => {
    const color = COLORS[n % COLORS.length]!;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    const d = pts.map((p, k) => `${k === 0 ? 'M' : 'L'}${fmt(x(p.x))},${fmt(y(p.y))}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    if (!s.dashed) {
      for (const p of pts) {
        parts.push(`<circle cx="${fmt(x(p.x))}" cy="${fmt(y(p.y))}" r="3" fill="${color}"/>`);
      }
    }
    const ly = top + h + 56 + 18 * n;
    parts.push(
      `<line x1="${left}" y1="${ly - 4}" x2="${left + 24}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${left + 30}" y="${ly}">${escapeXml(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
