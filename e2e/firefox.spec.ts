import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect } from '@playwright/test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { ExtensionStatus } from '../src/shared/protocol';
import { introspect } from './support/bank';
import { ROOT, startServer } from './support/server';

// The Firefox build, end to end, in Debian's firefox-esr. Playwright cannot drive a release
// Firefox, so this test uses puppeteer-core over WebDriver BiDi (installing the add-on as a
// temporary one, as about:debugging does). The event page hosts the model worker itself.

const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
const ADDON_ID = 'tacit@tacit.example';
/** The add-on's internal UUID, fixed by a pref so the server can allow its origin. */
const UUID = '5e7d1b9a-3c2f-4b8e-9a61-0f2d4c6b8a11';
const EXTENSION_ORIGIN = `moz-extension://${UUID}`;
const TEXT = 'the quick brown fox jumps over the lazy dog while my rent is due ';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function typeLikeAPerson(page: Page, text: string): Promise<void> {
  for (const ch of text) {
    // Single characters are keys to WebDriver BiDi (a space included).
    await page.keyboard.down(ch as never);
    await sleep(90 + Math.random() * 30);
    await page.keyboard.up(ch as never);
    await sleep(110 + Math.random() * 30);
  }
}

/** The extension's own page among the open tabs (the first-run page opens by itself). */
async function extensionPage(browser: Browser): Promise<Page> {
  for (let i = 0; i < 100; i++) {
    for (const page of await browser.pages()) {
      const href = await page.evaluate(() => location.href).catch(() => '');
      if (href.startsWith(`${EXTENSION_ORIGIN}/src/consent/`)) return page;
    }
    await sleep(100);
  }
  throw new Error('the consent page did not open');
}

test('Firefox: consent, enrolment, typing; the server verifies the statements', async () => {
  test.setTimeout(240_000);
  expect(existsSync(FIREFOX), `${FIREFOX} (Debian package firefox-esr; .ci/run installs it)`).toBe(
    true,
  );
  expect(existsSync(join(ROOT, 'dist/firefox/manifest.json')), 'npm run build:firefox first').toBe(
    true,
  );
  const server = await startServer({ TACIT_EXTENSION_ORIGINS: EXTENSION_ORIGIN });
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: {
      'extensions.webextensions.uuids': JSON.stringify({ [ADDON_ID]: UUID }),
      // Suspend an idle event page after 2 s instead of 30 s, so the test crosses a suspension.
      'extensions.background.idle.timeout': 2000,
    },
  });
  try {
    expect(await browser.installExtension(join(ROOT, 'dist/firefox'))).toBe(ADDON_ID);

    // First run: the consent page; agree as a person would.
    const ext = await extensionPage(browser);
    await ext.click('#agree');
    await ext.waitForFunction(() =>
      document.getElementById('status')?.textContent?.includes('Tacit is on'),
    );
    // Firefox gives extension pages the `chrome.*` namespace with promises too (MV3).
    const send = <T>(message: unknown) =>
      ext.evaluate((m) => chrome.runtime.sendMessage(m), message as never) as Promise<T>;
    // Point it at this run's server and bank (as the settings page would).
    await ext.evaluate(
      ([url, bankUrl]) =>
        chrome.storage.local.set({
          config: { serverUrl: url, protectedOrigins: [bankUrl], attestationIntervalMs: 1000 },
        }),
      [server.url, server.bankUrl] as const,
    );
    await expect
      .poll(() =>
        ext.evaluate(async () =>
          (await chrome.scripting.getRegisteredContentScripts()).flatMap((s) => s.matches ?? []),
        ),
      )
      .toEqual(['http://127.0.0.1/*']);

    // The bank: log in, enrol, type in the transfer form.
    const page = await browser.newPage();
    await page.goto(`${server.bankUrl}/bank/login`);
    await page.click('#username');
    await typeLikeAPerson(page, 'fiona');
    await page.click('#password');
    await typeLikeAPerson(page, 'demo');
    await Promise.all([page.waitForNavigation(), page.click('#login')]);
    await Promise.all([page.waitForNavigation(), page.click('#enroll')]);
    await expect
      .poll(async () => (await send<ExtensionStatus>({ type: 'status' })).enrolled, {
        timeout: 30_000,
      })
      .toBe(true);
    await Promise.all([page.waitForNavigation(), page.click('#to-transfer')]);
    const sid = await page.$eval('meta[name="tacit-session"]', (m) => m.getAttribute('content')!);
    await page.click('#memo');
    await typeLikeAPerson(page, TEXT);
    await expect
      .poll(async () => (await send<ExtensionStatus>({ type: 'status' })).session?.bound, {
        timeout: 30_000,
      })
      .toBe(true);
    await typeLikeAPerson(page, TEXT);

    // The server received statements signed by this device's key and verified them.
    await expect
      .poll(async () => (await introspect(server, sid)).tacit_attestations ?? 0, {
        timeout: 30_000,
      })
      .toBeGreaterThan(0);
    const view = await introspect(server, sid);
    const status = await send<ExtensionStatus>({ type: 'status' });
    expect(view.active).toBe(true);
    expect(view.cnf?.jkt).toBe(status.deviceId);
    expect(status.model?.backend).toBeTruthy();
    expect(status.model?.modalities.keystroke.enrolWindows).toBeGreaterThan(0);

    // Idle past the event page's suspension, then type on: the enrolment, the session's sequence
    // and hash chain survive (the server accepts the next statements), and learning goes on.
    const attested = view.tacit_attestations!;
    const windows = status.model!.modalities.keystroke.enrolWindows;
    await sleep(8000);
    await typeLikeAPerson(page, TEXT);
    await typeLikeAPerson(page, TEXT);
    await expect
      .poll(async () => (await introspect(server, sid)).tacit_attestations ?? 0, {
        timeout: 30_000,
      })
      .toBeGreaterThan(attested);
    const after = await send<ExtensionStatus>({ type: 'status' });
    expect(after.enrolled).toBe(true);
    expect(after.lastError).toBeNull();
    expect(after.model!.modalities.keystroke.enrolWindows).toBeGreaterThan(windows);
  } finally {
    await browser.close();
    await server.stop();
  }
});
