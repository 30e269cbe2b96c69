// The extension asks for nothing beyond an allow-list, in manifest.json, in the manifests the
// builds produce (vite.config.ts derives Firefox's from manifest.json; checked when dist/ is
// there), and at run time. A new permission is a decision: add it here with its reason.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import manifest from '../manifest.json';

vi.mock('webextension-polyfill', () => ({ default: {} }));

const ROOT = join(import.meta.dirname, '..');

/** Every API permission the extension may hold, and why. */
const PERMISSIONS: Record<string, string> = {
  alarms: 'the hourly federated check (model versions; rounds only with "help improve the model")',
  offscreen: 'Chrome: the offscreen document that hosts the model worker (not in Firefox)',
  scripting: 'registers the capture script on the protected hosts the user granted',
  storage: 'settings, consent, and the managed (policy) settings',
};
/** Hosts always held: the demo bank and a local server, nothing on the web. */
const HOST_PERMISSIONS = ['http://localhost/*', 'http://127.0.0.1/*'];
/** Asked for at run time, one bank host at a time, from the options page. */
const OPTIONAL_HOST_PERMISSIONS = ['https://*/*', 'http://*/*'];
/** Optional API permissions: none. */
const OPTIONAL_PERMISSIONS: string[] = [];
/** Firefox's data-collection declaration: what the statements sent to the bank's server are. */
const FIREFOX_DATA_COLLECTION = ['authenticationInfo'];
/** Extension pages run our own bundled code and the tfjs WebAssembly only. */
const EXTENSION_PAGES_CSP = "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'";

/** Manifest keys that would grant access or expose the extension, and must stay absent. */
const ABSENT = [
  'content_scripts', // capture is registered at run time, only where consent and a grant allow it
  'externally_connectable', // no web page or other extension may message it
  'optional_permissions',
  'chrome_url_overrides',
  'devtools_page',
  'sandbox',
  'declarative_net_request',
  'oauth2',
];

interface Manifest {
  permissions?: string[];
  optional_permissions?: string[];
  host_permissions?: string[];
  optional_host_permissions?: string[];
  content_security_policy?: { extension_pages?: string; sandbox?: string };
  web_accessible_resources?: { resources: string[]; matches?: string[] }[];
  browser_specific_settings?: {
    gecko?: { data_collection_permissions?: { required?: string[]; optional?: string[] } };
  };
  [key: string]: unknown;
}

function expectAllowListed(m: Manifest, where: string): void {
  for (const p of m.permissions ?? [])
    expect(Object.keys(PERMISSIONS), `${where}: ${p}`).toContain(p);
  for (const p of m.optional_permissions ?? [])
    expect(OPTIONAL_PERMISSIONS, `${where}: optional ${p}`).toContain(p);
  for (const p of m.host_permissions ?? [])
    expect(HOST_PERMISSIONS, `${where}: host ${p}`).toContain(p);
  for (const p of m.optional_host_permissions ?? [])
    expect(OPTIONAL_HOST_PERMISSIONS, `${where}: optional host ${p}`).toContain(p);
  for (const key of ABSENT) expect(m, where).not.toHaveProperty(key);
  expect(JSON.stringify(m), where).not.toMatch(/<all_urls>|\*:\/\//);
  expect(m.content_security_policy?.extension_pages, where).toBe(EXTENSION_PAGES_CSP);
}

describe('extension permissions', () => {
  it('manifest.json asks only for allow-listed permissions and hosts', () => {
    expectAllowListed(manifest, 'manifest.json');
    // Exactly these, so a removed permission also updates the list (and its reason).
    expect([...manifest.permissions].sort()).toEqual(Object.keys(PERMISSIONS).sort());
    expect([...manifest.host_permissions].sort()).toEqual([...HOST_PERMISSIONS].sort());
  });

  it('the built manifests ask for no more (when dist/ has been built)', () => {
    for (const browser of ['chrome', 'firefox'] as const) {
      const file = join(ROOT, 'dist', browser, 'manifest.json');
      if (!existsSync(file)) continue; // unit tests run before the build in `npm test`
      const built = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
      expectAllowListed(built, `dist/${browser}`);
      // The bundler's web-accessible entries expose nothing to web pages (src/conventions.test.ts
      // checks which files); none is offered to every site and every extension.
      for (const entry of built.web_accessible_resources ?? [])
        expect(entry.matches ?? [], `dist/${browser}`).not.toContain('<all_urls>');
      if (browser === 'firefox') {
        expect(built.permissions).not.toContain('offscreen');
        const data = built.browser_specific_settings?.gecko?.data_collection_permissions;
        expect(data?.required).toEqual(FIREFOX_DATA_COLLECTION);
        expect(data?.optional ?? []).toEqual([]);
      }
    }
  });

  it('vite.config.ts derives Firefox’s manifest by removing, never adding, a permission', () => {
    const config = readFileSync(join(ROOT, 'vite.config.ts'), 'utf8');
    expect(config).toMatch(/permissions: rest\.permissions\.filter\(/);
    expect(config).not.toMatch(/host_permissions\s*:|optional_permissions\s*:/);
    expect(config).toMatch(/data_collection_permissions: \{ required: \['authenticationInfo'\] \}/);
  });

  it('at run time it asks for one bank host at a time, never for an API permission', async () => {
    const calls: string[] = [];
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => {
        const path = join(dir, f);
        if (statSync(path).isDirectory()) return walk(path);
        return /\.ts$/.test(f) && !/\.test\.ts$/.test(f) ? [path] : [];
      });
    for (const file of walk(join(ROOT, 'src'))) {
      const source = readFileSync(file, 'utf8');
      for (const m of source.matchAll(/permissions\s*\.request\(([^;]*?)\)\s*[.;]/g))
        calls.push(m[1]!);
    }
    expect(calls.length).toBeGreaterThan(0);
    for (const args of calls)
      expect(args.trim()).toMatch(/^\{ origins: \[matchPatternOf\(\w+\)\] \}$/);
    // …and that pattern is one host: no wildcard can come out of a protected-origin setting.
    const { matchPatternOf } = await import('./shared/config');
    expect(matchPatternOf('https://bank.example:8443')).toBe('https://bank.example/*');
    for (const hostile of [
      'https://*.bank.example',
      '*://bank.example',
      '<all_urls>',
      'https://*',
      'file:///etc',
      'ftp://bank.example',
      'javascript:alert(1)',
    ]) {
      let pattern: string | undefined;
      try {
        pattern = matchPatternOf(hostile);
      } catch {
        continue; // refused: fine
      }
      expect(pattern, hostile).toMatch(/^https?:\/\/[^*/]+\/\*$/);
    }
  });
});
