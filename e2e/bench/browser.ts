import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { build } from 'vite';
import { ROOT } from '../support/server';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags `launchWithExtension` uses, minus the extension: the baseline browser. */
const BASE_ARGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-gpu',
];

export interface Bundle {
  dir: string;
  dispose(): void;
}

/**
 * Bundles page/worker entry points (real Tacit source, imported by the entries) with vite's
 * build API into a temp dir, one ES module per entry (`<name>.js`), minified like the
 * extension build. The project's vite.config.ts (crx plugin) is not used.
 */
export async function bundle(entries: Record<string, string>): Promise<Bundle> {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-bench-'));
  await build({
    configFile: false,
    root: ROOT,
    publicDir: false,
    logLevel: 'warn',
    build: {
      outDir: dir,
      emptyOutDir: true,
      minify: true,
      target: 'es2022',
      sourcemap: false,
      reportCompressedSize: false,
      lib: { entry: entries, formats: ['es'], fileName: (_format, name) => `${name}.js` },
    },
  });
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface StaticServer {
  url: string;
  stop(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

/**
 * A loopback HTTP server for `dir`, plus fixed HTML `pages`. Every response is cross-origin
 * isolated (COOP + COEP), which gives `performance.now()` Chromium's fine (5 µs) resolution
 * instead of 100 µs.
 */
export async function startStaticServer(
  dir: string,
  pages: Record<string, string>,
): Promise<StaticServer> {
  const root = resolve(dir);
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    };
    const page = pages[path];
    if (page !== undefined) {
      res.writeHead(200, { ...headers, 'Content-Type': TYPES['.html']! });
      res.end(page);
      return;
    }
    const file = normalize(join(root, path));
    if (!file.startsWith(root) || !TYPES[extname(file)]) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)]! });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** Debian's Chromium without any extension, for the in-page micro-benchmarks. */
export function launchPlainBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: BASE_ARGS });
}

/** Like `launchWithExtension` (fresh persistent profile, same flags) but without the extension. */
export async function launchPlainContext(): Promise<{
  context: BrowserContext;
  close(): Promise<void>;
}> {
  const profile = mkdtempSync(join(tmpdir(), 'tacit-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: BASE_ARGS,
  });
  return { context, close: () => context.close() };
}

/** Newest modification time (ms) of any non-test file under `dir`. */
export function newestMtime(dir: string): number {
  let newest = 0;
  const walk = (d: string): void => {
    for (const entry of readdirSafe(d)) {
      const p = join(d, entry);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else if (!/\.test\.ts$/.test(entry)) newest = Math.max(newest, s.mtimeMs);
    }
  };
  walk(dir);
  return newest;
}

function readdirSafe(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

/** What the benchmark workers post back: their result, or the error that stopped them. */
export type WorkerReply<R> = ({ ok: true } & R) | { ok: false; error: string };

/**
 * Starts the module worker `script` (a bundled entry served by the page's origin) in `page`,
 * posts it `request` and resolves with its one reply (then terminates it), or with an error
 * after `timeoutMs`. The benchmarks' one way to run a worker.
 */
export function runWorkerOnce<R>(
  page: Page,
  script: string,
  request: unknown,
  timeoutMs: number,
): Promise<WorkerReply<R>> {
  return page.evaluate(
    ({ script, request, timeoutMs }) =>
      new Promise<WorkerReply<R>>((done) => {
        const w = new Worker(script, { type: 'module' });
        const timer = setTimeout(
          () => done({ ok: false, error: `worker did not answer in ${timeoutMs} ms` }),
          timeoutMs,
        );
        w.onmessage = (e: MessageEvent<WorkerReply<R>>) => {
          clearTimeout(timer);
          w.terminate();
          done(e.data);
        };
        w.onerror = (e) => {
          clearTimeout(timer);
          done({ ok: false, error: `worker error: ${e.message}` });
        };
        w.postMessage(request);
      }),
    { script, request, timeoutMs },
  );
}
