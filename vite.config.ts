import { crx, type ManifestV3Export } from '@crxjs/vite-plugin';
import { defineConfig } from 'vite';
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

export default defineConfig(({ mode }) => {
  if (mode !== 'chrome' && mode !== 'firefox') {
    throw new TypeError(`vite mode must be "chrome" or "firefox", got ${JSON.stringify(mode)}`);
  }
  const browser: Browser = mode;
  // The offscreen document is not referenced by the manifest, so it is an explicit input.
  const input: Record<string, string> =
    browser === 'chrome' ? { offscreen: 'src/offscreen/offscreen.html' } : {};
  return {
    publicDir: 'src/public',
    // Lets each build drop the other browser's code (Firefox has no offscreen documents).
    define: { __TACIT_BROWSER__: JSON.stringify(browser) },
    plugins: [crx({ manifest: manifestFor(browser), browser })],
    worker: { format: 'es' },
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
