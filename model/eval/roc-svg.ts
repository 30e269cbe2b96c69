/**
 * A self-contained SVG of one or more ROC curves (pure: returns the document as a string).
 * Axes: false accept rate (x) against true accept rate = 1 − FRR (y), both 0–1, with the chance
 * diagonal, the EER line (FAR = FRR) and a legend.
 */
import type { RocPoint } from './metrics';

/** One curve to draw. */
export interface RocCurveInput {
  /** Legend text (escaped here). */
  label: string;
  /** Its points, e.g. {@link VerificationMetrics.roc}. */
  points: readonly RocPoint[];
  /** Shown in the legend when given. */
  eer?: number;
  /** Shown in the legend when given. */
  auc?: number;
}

/** Options of {@link rocSvg}. */
export interface RocSvgOptions {
  /** Title above the plot (escaped here). Default 'ROC'. */
  title?: string;
  /** Width and height of the square plot area (px). Default 400; in [100, 4000]. */
  size?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fmt = (x: number): string => (Math.round(x * 10) / 10).toString();

/**
 * The SVG document of `curves` (at most 6 colours, then they repeat).
 * @throws {RangeError} for a size outside [100, 4000].
 */
export function rocSvg(curves: readonly RocCurveInput[], options: RocSvgOptions = {}): string {
  const size = options.size ?? 400;
  if (!Number.isFinite(size) || size < 100 || size > 4000) {
    throw new RangeError(`size must be in [100, 4000], got ${String(size)}`);
  }
  const left = 60;
  const top = 40;
  const legendH = 18 * curves.length + 10;
  const width = left + size + 20;
  const height = top + size + 50 + legendH;
  const x = (far: number): number => left + Math.min(Math.max(far, 0), 1) * size;
  const y = (tpr: number): number => top + (1 - Math.min(Math.max(tpr, 0), 1)) * size;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(
    `<text x="${fmt(left + size / 2)}" y="22" text-anchor="middle" font-size="14">` +
      `${escapeXml(options.title ?? 'ROC')}</text>`,
  );
  // Grid and ticks.
  for (let k = 0; k <= 10; k++) {
    const v = k / 10;
    const gx = fmt(x(v));
    const gy = fmt(y(v));
    parts.push(`<line x1="${gx}" y1="${top}" x2="${gx}" y2="${top + size}" stroke="#eee"/>`);
    parts.push(`<line x1="${left}" y1="${gy}" x2="${left + size}" y2="${gy}" stroke="#eee"/>`);
    if (k % 2 === 0) {
      parts.push(
        `<text x="${gx}" y="${top + size + 16}" text-anchor="middle">${v.toFixed(1)}</text>`,
      );
      parts.push(
        `<text x="${left - 6}" y="${fmt(y(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`,
      );
    }
  }
  // Axes, chance diagonal, EER line (FAR = FRR ⇔ TPR = 1 − FAR).
  parts.push(
    `<rect x="${left}" y="${top}" width="${size}" height="${size}" fill="none" stroke="black"/>`,
  );
  parts.push(
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#999" stroke-dasharray="4 4"/>`,
  );
  parts.push(
    `<line x1="${x(0)}" y1="${y(1)}" x2="${x(1)}" y2="${y(0)}" stroke="#ccc" stroke-dasharray="2 4"/>`,
  );
  parts.push(
    `<text x="${fmt(left + size / 2)}" y="${top + size + 34}" text-anchor="middle">` +
      'False accept rate (FAR)</text>',
  );
  parts.push(
    `<text x="16" y="${fmt(top + size / 2)}" text-anchor="middle" ` +
      `transform="rotate(-90 16 ${fmt(top + size / 2)})">True accept rate (1 − FRR)</text>`,
  );
  curves.forEach((c, n) => {
    const color = COLORS[n % COLORS.length]!;
    const d = c.points
      .map((p, k) => `${k === 0 ? 'M' : 'L'}${fmt(x(p.far))},${fmt(y(1 - p.frr))}`)
      .join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    const ly = top + size + 56 + 18 * n;
    const extra = [
      c.eer === undefined ? '' : `EER ${(100 * c.eer).toFixed(1)} %`,
      c.auc === undefined ? '' : `AUC ${c.auc.toFixed(3)}`,
    ]
      .filter((s) => s !== '')
      .join(', ');
    parts.push(
      `<line x1="${left}" y1="${ly - 4}" x2="${left + 24}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`,
    );
    parts.push(
      `<text x="${left + 30}" y="${ly}">${escapeXml(c.label)}${extra === '' ? '' : ` (${extra})`}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
