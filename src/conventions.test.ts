// Convention tests: the architecture rules that code review would otherwise have to catch.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import manifest from '../manifest.json';
import { COLLECTORS } from './content/collectors';

const ROOT = join(import.meta.dirname, '..');
const HELPERS = new Set(['index.ts', 'types.ts', 'target-flags.ts']);
const isCollectorFile = (f: string) =>
  f.endsWith('.ts') && !f.endsWith('.test.ts') && !HELPERS.has(f);

describe('collectors', () => {
  it('every collector file is registered with the orchestrator', async () => {
    const dir = join(ROOT, 'src/content/collectors');
    const files = readdirSync(dir).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !HELPERS.has(f),
    );
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const file of files) {
      const module = (await import(join(dir, file))) as Record<string, unknown>;
      const exported = Object.values(module).filter(
        (v) => typeof v === 'object' && v !== null && 'init' in v && 'name' in v,
      );
      expect(exported, file).toHaveLength(1);
      expect(COLLECTORS, file).toContain(exported[0]);
    }
  });

  it('collectors register every listener with the abort signal', () => {
    const dir = join(ROOT, 'src/content/collectors');
    for (const file of readdirSync(dir).filter(isCollectorFile)) {
      const source = readFileSync(join(dir, file), 'utf8');
      const listeners = source.match(/addEventListener\(/g)?.length ?? 0;
      const withSignal = source.match(/signal\s*[},]|\boptions\s*,?\s*\)/g)?.length ?? 0;
      expect(withSignal, file).toBeGreaterThanOrEqual(listeners);
    }
  });

  it('no collector reads key characters or codes into what it emits', () => {
    const source = readFileSync(join(ROOT, 'src/content/collectors/keyboard.ts'), 'utf8');
    // event.key goes only through keyClass(); event.code only keys the transient `held` map.
    expect(source.match(/event\.key\b(?!Code)/g)?.length).toBe(
      source.match(/keyClass\(event\.key\)/g)!.length + 2,
    );
    expect(source).not.toMatch(/\bc:\s*event\./);
    expect(source).not.toMatch(/keyCode\s*[,}]/);
  });
});

describe('manifest', () => {
  it('asks only for the permissions we need', () => {
    // The reason for each is in permissions.test.ts (the allow-list).
    expect([...manifest.permissions].sort()).toEqual([
      'alarms',
      'offscreen',
      'scripting',
      'storage',
    ]);
    // Always held: the demo bank and a local server only. Every bank origin is asked for at run
    // time, one host at a time, from the options page (optional_host_permissions).
    for (const pattern of manifest.host_permissions)
      expect(pattern).toMatch(/^https?:\/\/(localhost|127\.0\.0\.1)\/\*$/);
    expect([...manifest.optional_host_permissions].sort()).toEqual(['http://*/*', 'https://*/*']);
    expect(JSON.stringify(manifest)).not.toContain('<all_urls>');
  });

  it('declares no static content script: capture is registered only where consent and a permission allow it', () => {
    expect(manifest).not.toHaveProperty('content_scripts');
    const background = readFileSync(join(ROOT, 'src/background/index.ts'), 'utf8');
    expect(background).toMatch(/content\/index\.ts\?script&iife/);
  });

  it('the built manifest exposes no extension page or worker to web pages', () => {
    const built = join(ROOT, 'dist/chrome/manifest.json');
    if (!existsSync(built)) return; // unit tests run before the build in `npm test`; e2e uses the build
    const json = JSON.parse(readFileSync(built, 'utf8')) as {
      web_accessible_resources?: { resources: string[] }[];
    };
    for (const entry of json.web_accessible_resources ?? []) {
      // Nor the capture script: a page that could fetch it would know Tacit is installed.
      for (const resource of entry.resources)
        expect(resource).not.toMatch(/offscreen|worker|popup|options|consent|content/);
    }
  });
});
