import { crx, type ManifestV3Export } from '@crxjs/vite-plugin';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import baseManifest from './manifest.json' with { type: 'json' };

type Browser = 'chrome' | 'firefox';

/**
 * One source, two builds: `vite build --mode chrome` → dist/chrome, `--mode firefox` →
 * dist/firefox. Firefox has no offscreen documents: its background is an event page that
 * starts the model worker itself.
 */
function manifestFor(browser: Browser): ManifestV3Export {
  if (browser === 'chrome') return baseManifest as ManifestV3Export;
  const {
    key: _key,
    minimum_chrome_version: _minChrome,
    storage: _storage,
    ...rest
  } = baseManifest;
  return {
    ...rest,
    permissions: rest.permissions.filter((p) => p !== 'offscreen'),
    background: { scripts: ['src/background/index.ts'], type: 'module' },
    browser_specific_settings: {
      gecko: {
        id: 'tacit@tacit.example',
        strict_min_version: '140.0',
        data_collection_permissions: { required: ['authenticationInfo'] },
      },
    },
  } as unknown as ManifestV3Export;
}

/**
 * The capture script is injected with `scripting.registerContentScripts` as one IIFE file, so no
 * page needs to fetch it. @crxjs/vite-plugin lists every `?script` import as web-accessible to
 * all http(s) pages anyway, which would let any site detect that Tacit is installed by
 * requesting that URL. This drops those entries from the built manifest (checked by
 * src/conventions.test.ts).
 */
function noWebAccessibleCaptureScript(outDir: string): Plugin {
  return {
    name: 'tacit:no-web-accessible-capture-script',
    apply: 'build',
    enforce: 'post',
    writeBundle() {
      const file = join(outDir, 'manifest.json');
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as {
        web_accessible_resources?: { resources: string[] }[];
      };
      const kept = (manifest.web_accessible_resources ?? [])
        .map((entry) => ({
          ...entry,
          resources: entry.resources.filter((r) => !r.startsWith('src/content/')),
        }))
        .filter((entry) => entry.resources.length > 0);
      if (kept.length > 0) manifest.web_accessible_resources = kept;
      else delete manifest.web_accessible_resources;
      writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
    },
  };
}

export default defineConfig(({ mode }) => {
  if (mode !== 'chrome' && mode !== 'firefox') {
    throw new TypeError(`vite mode must be "chrome" or "firefox", got ${JSON.stringify(mode)}`);
  }
  const browser: Browser = mode;
  // The offscreen document is not referenced by the manifest, so it is an explicit input.
  // Neither is the first-run consent page (opened by the background on install).
  const input: Record<string, string> = {
    consent: 'src/consent/consent.html',
    ...(browser === 'chrome' ? { offscreen: 'src/offscreen/offscreen.html' } : {}),
  };
  return {
    publicDir: 'src/public',
    // Lets each build drop the other browser's code (Firefox has no offscreen documents).
    define: { __TACIT_BROWSER__: JSON.stringify(browser) },
    plugins: [
      crx({ manifest: manifestFor(browser), browser }),
      noWebAccessibleCaptureScript(`dist/${browser}`),
    ],
    worker: { format: 'es' },
    // The worker's TensorFlow.js is tfjs-core + cpu (+ wasm, src/worker/backend.ts), not the
    // whole bundle: see src/worker/tfjs-lite.ts.
    resolve: {
      alias: [
        {
          find: /^@tensorflow\/tfjs$/,
          replacement: fileURLToPath(new URL('src/worker/tfjs-lite.ts', import.meta.url)),
        },
      ],
    },
    build: {
      outDir: `dist/${browser}`,
      emptyOutDir: true,
      target: 'es2022',
      chunkSizeWarningLimit: 4096,
      rollupOptions: {
        input,
      },
    },
    server: { port: 5173, strictPort: true },
  };
});
