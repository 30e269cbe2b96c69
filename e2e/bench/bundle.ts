/**
 * Bundle size of the extension's pages as built (dist/chrome): everything a page loads at
 * start — its HTML, the scripts and stylesheets it names, and every module they import
 * statically, each file counted once — raw and gzip-compressed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { EXTENSION_DIR } from '../support/extension';
import { printTable } from './report';

export const PAGES = {
  popup: 'src/popup/popup.html',
  options: 'src/options/options.html',
} as const;

export interface PageBundle {
  page: string;
  files: { file: string; bytes: number; gzipBytes: number }[];
  bytes: number;
  gzipBytes: number;
}

export interface BundleBenchResult {
  bench: 'bundle';
  date: string;
  pages: PageBundle[];
}

function measure(html: string): PageBundle['files'] {
  const seen = new Set<string>();
  const queue = [html];
  const files: PageBundle['files'] = [];
  while (queue.length > 0) {
    const rel = queue.shift()!;
    if (seen.has(rel)) continue;
    seen.add(rel);
    const path = join(EXTENSION_DIR, rel);
    if (!existsSync(path)) throw new Error(`${rel} is missing: run npm run build:chrome`);
    const body = readFileSync(path);
    files.push({ file: rel, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length });
    const text = body.toString('utf8');
    if (rel.endsWith('.html')) {
      for (const m of text.matchAll(/(?:src|href)="\/([^"]+\.(?:js|css))"/g)) queue.push(m[1]!);
    } else if (rel.endsWith('.js')) {
      const dir = rel.slice(0, rel.lastIndexOf('/') + 1);
      for (const m of text.matchAll(/(?:import|from)\s*"\.\/([^"]+\.js)"/g))
        queue.push(dir + m[1]!);
    }
  }
  return files;
}

export async function runBundleBench(): Promise<BundleBenchResult> {
  const pages = Object.entries(PAGES).map(([page, html]) => {
    const files = measure(html);
    return {
      page,
      files,
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      gzipBytes: files.reduce((n, f) => n + f.gzipBytes, 0),
    };
  });
  return { bench: 'bundle', date: new Date().toISOString(), pages };
}

export function printBundle(r: BundleBenchResult): void {
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
  printTable(
    'extension pages as built (dist/chrome): HTML + every script and stylesheet loaded at start',
    ['page', 'files', 'raw', 'gzip'],
    r.pages.map((p) => [p.page, p.files.length, kb(p.bytes), kb(p.gzipBytes)]),
  );
}
