/**
 * `npm run bundle:server`: the verifier and the demo bank as plain JavaScript for the container
 * image (Dockerfile), so its runtime stage needs production dependencies only (no tsx). One
 * ESM file per entry in `dist/server/`, npm packages left as imports, and beside them the files
 * the code reads relative to itself:
 *
 * - `lua/` (server/src/store/redis/scripts.ts reads `./lua/<name>.lua`);
 * - `writer-entry.mjs`, the SQLite writer thread bundled from `writer.ts` (sqlite.ts starts
 *   `./writer-entry.mjs`; the source one loads TypeScript through tsx);
 * - `static/` (the demo bank's pages).
 *
 * `dist/server/main.mjs` reads `../../manifest.json` (the extension's id for CORS): the image
 * keeps manifest.json at its root. esbuild is the one vite and tsx already run on.
 *
 * @module
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const OUT = join(ROOT, 'dist/server');

const ENTRIES = {
  main: 'server/src/main.ts',
  'writer-entry': 'server/src/store/sqlite/writer.ts',
  'demo-bank': 'server/demo-bank/main.ts',
};

rmSync(OUT, { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: ENTRIES,
  outdir: OUT,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
cpSync(join(ROOT, 'server/src/store/redis/lua'), join(OUT, 'lua'), { recursive: true });
cpSync(join(ROOT, 'server/demo-bank/static'), join(OUT, 'static'), { recursive: true });
console.log(`bundled ${Object.keys(ENTRIES).join(', ')} into ${OUT}`);
