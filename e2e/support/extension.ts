import { chromium, type BrowserContext, type Page, type Worker } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TabStatus } from '../../src/shared/protocol';
import { ROOT } from './server';

export const EXTENSION_DIR = join(ROOT, 'dist/chrome');

export interface LoadedExtension {
  context: BrowserContext;
  serviceWorker: Worker;
  extensionId: string;
  /** The fresh profile directory (the bench finds the browser's processes by it). */
  profile: string;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /**
   * Agree on the first-run page that opens on install, as a person would (default true). With
   * false the page is left open and nothing is captured until a test agrees.
   */
  consent?: boolean;
  /** Extra Chromium flags (e.g. `--host-resolver-rules`). */
  args?: string[];
  /** Run with a window on this X display (for tests that answer browser prompts); default headless. */
  display?: string;
}

/** Launches Debian's Chromium with the built extension loaded (a fresh profile each time). */
export async function launchWithExtension(options: LaunchOptions = {}): Promise<LoadedExtension> {
  const profile = mkdtempSync(join(tmpdir(), 'tacit-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: options.display === undefined,
    ...(options.display === undefined ? {} : { env: { ...process.env, DISPLAY: options.display } }),
    args: [
      `--disable-extensions-except=${EXTENSION_DIR}`,
      `--load-extension=${EXTENSION_DIR}`,
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-gpu',
      ...(options.args ?? []),
    ],
  });
  const serviceWorker =
    context.serviceWorkers()[0] ??
    (await context.waitForEvent('serviceworker', { timeout: 15_000 }));
  const extensionId = new URL(serviceWorker.url()).host;
  const ext = { context, serviceWorker, extensionId, profile, close: () => context.close() };
  if (options.consent !== false) {
    const page = await consentPage(ext);
    await page.click('#agree');
    await page.getByText('Tacit is on').waitFor();
    await page.close();
  }
  return ext;
}

/** The first-run consent page the extension opens on install. */
export async function consentPage(
  ext: Pick<LoadedExtension, 'context' | 'extensionId'>,
): Promise<Page> {
  const url = `chrome-extension://${ext.extensionId}/src/consent/consent.html`;
  const open = () => ext.context.pages().find((p) => p.url() === url);
  const page =
    open() ??
    (await ext.context.waitForEvent('page', {
      predicate: (p) => p.url() === url,
      timeout: 15_000,
    }));
  await page.waitForLoadState('domcontentloaded');
  return page;
}

/**
 * Waits until the content script is registered for `origin`'s host (the background registers
 * it when consent, config or permissions change), so the next page load on it is captured.
 */
export async function waitForCaptureRegistration(
  ext: LoadedExtension,
  origin: string,
): Promise<void> {
  const pattern = hostPattern(origin);
  await ext.serviceWorker.evaluate(async (want) => {
    for (let i = 0; i < 200; i++) {
      const [script] = await chrome.scripting.getRegisteredContentScripts({
        ids: ['tacit-capture'],
      });
      if (script?.matches?.includes(want)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`content script not registered for ${want}`);
  }, pattern);
}

/**
 * The host-permission pattern of an origin, as src/shared/config.ts `matchPatternOf` makes it
 * (that module imports webextension-polyfill, which refuses to load in Node).
 */
function hostPattern(origin: string): string {
  const url = new URL(origin);
  return `${url.protocol}//${url.hostname}/*`;
}

/** Points the extension at a server and protects the bank's origin (as the options page would). */
export async function configure(
  ext: LoadedExtension,
  config: { serverUrl: string; protectedOrigins: string[]; attestationIntervalMs?: number },
): Promise<void> {
  await ext.serviceWorker.evaluate(async (value) => {
    await chrome.storage.local.set({ config: value });
  }, config);
  // Origins with a host permission (the demo bank's) are registered at once; others need the
  // permission the options page asks for.
  const granted = await ext.serviceWorker.evaluate(
    (patterns) => Promise.all(patterns.map((p) => chrome.permissions.contains({ origins: [p] }))),
    config.protectedOrigins.map(hostPattern),
  );
  const consented = await ext.serviceWorker.evaluate(
    async () => (await chrome.storage.local.get('consent')).consent !== undefined,
  );
  if (!consented) return;
  for (const [i, origin] of config.protectedOrigins.entries()) {
    if (granted[i]) await waitForCaptureRegistration(ext, origin);
  }
}

/** An extension page, used to ask the service worker for its status or to read storage. */
export async function extensionPage(ext: LoadedExtension): Promise<Page> {
  const page = await ext.context.newPage();
  await page.goto(`chrome-extension://${ext.extensionId}/src/popup/popup.html`);
  return page;
}

/** The service worker's status of the tab showing `page`, asked from an extension page. */
export async function tabStatus(popup: Page, page: Page): Promise<TabStatus> {
  const url = page.url();
  return popup.evaluate(async (u) => {
    const tab = (await chrome.tabs.query({})).find((t) => t.url === u)!;
    return chrome.runtime.sendMessage({ type: 'tab-status', tabId: tab.id });
  }, url) as Promise<TabStatus>;
}

/**
 * Closes the offscreen document (the model worker goes with it), then stops the service worker
 * (CDP `ServiceWorker.stopAllWorkers`), as Chrome does to an idle extension.
 */
export async function stopBackground(ext: LoadedExtension, page: Page): Promise<void> {
  const worker =
    ext.context.serviceWorkers()[0] ?? (await ext.context.waitForEvent('serviceworker'));
  await worker.evaluate(async () => {
    if (await chrome.offscreen.hasDocument()) await chrome.offscreen.closeDocument();
  });
  const cdp = await ext.context.newCDPSession(page);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await cdp.detach();
}

/** A seeded PRNG so each run types with the same rhythm. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Typist {
  /** Mean key hold (down → up), ms. */
  holdMs: number;
  /** Mean gap from one key's up to the next key's down, ms. */
  gapMs: number;
  /** Relative jitter (0.1 = ±10 %). */
  jitter: number;
  seed: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function keyName(ch: string): string {
  return ch === ' ' ? 'Space' : ch;
}

/** Types `text` key by key with the typist's hold and gap times (keyboard.down/up, not type()). */
export async function typeWithRhythm(page: Page, text: string, typist: Typist): Promise<void> {
  const random = rng(typist.seed);
  const vary = (mean: number) => mean * (1 + (random() * 2 - 1) * typist.jitter);
  for (const ch of text) {
    await page.keyboard.down(keyName(ch));
    await sleep(vary(typist.holdMs));
    await page.keyboard.up(keyName(ch));
    await sleep(vary(typist.gapMs));
  }
}

export interface Mover {
  /** Pixels per step. */
  stepPx: number;
  /** Delay between steps, ms. */
  stepMs: number;
  seed: number;
}

/** Moves the pointer along a few straight-ish strokes with the mover's speed. */
export async function moveWithRhythm(page: Page, strokes: number, mover: Mover): Promise<void> {
  const random = rng(mover.seed);
  let x = 200;
  let y = 200;
  await page.mouse.move(x, y);
  for (let s = 0; s < strokes; s++) {
    const tx = 100 + random() * 600;
    const ty = 100 + random() * 400;
    const distance = Math.hypot(tx - x, ty - y);
    const steps = Math.max(4, Math.round(distance / mover.stepPx));
    for (let i = 1; i <= steps; i++) {
      await page.mouse.move(x + ((tx - x) * i) / steps, y + ((ty - y) * i) / steps);
      await sleep(mover.stepMs);
    }
    x = tx;
    y = ty;
    await sleep(150);
  }
}
