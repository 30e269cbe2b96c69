import { test, expect, type Page } from '@playwright/test';
import type { TabStatus } from '../src/shared/protocol';
import { login, sessionId } from './support/bank';
import { startVirtualDisplay, type VirtualDisplay } from './support/display';
import {
  consentPage,
  launchWithExtension,
  typeWithRhythm,
  waitForCaptureRegistration,
  type LoadedExtension,
  type Typist,
} from './support/extension';
import { startServer } from './support/server';
import { storeSnapshot } from './support/stores';
import { httpsJson, makeTestCertificate } from './support/tls';

// A bank as a new user meets it: not localhost but https://bank.example (mapped to loopback,
// served by the real server with a test certificate Chromium trusts by its key hash). The
// extension holds no permission for it until the user adds the site in the options page and
// answers the browser's own prompt, which this test does with the keyboard on a virtual display.

const HOST = 'bank.example';
const TYPIST: Typist = { holdMs: 100, gapMs: 120, jitter: 0.15, seed: 5 };
const TEXT = 'pay the electricity bill and the rent before friday ';
const METRICS_TOKEN = 'e2e-metrics-token-0123456789abcdef';
/**
 * The routes only the extension calls (server-client.ts). `GET /v1/devices` is the demo bank's
 * backend (its assurance panel polls it through the SDK), not the extension.
 */
const EXTENSION_ROUTES =
  /method="POST",route="\/v1\/(attestations|devices|sessions\/bind)"|route="\/v1\/device\/[^"]*"/;

async function send<T>(page: Page, message: unknown): Promise<T> {
  return page.evaluate((m) => chrome.runtime.sendMessage(m), message) as Promise<T>;
}

async function tabIdOf(extension: Page, page: Page): Promise<number> {
  return extension.evaluate(
    async (u) => (await chrome.tabs.query({})).find((t) => t.url === u)!.id!,
    page.url(),
  );
}

test('a real HTTPS bank origin: site added with its permission, consent, enrolment, verified statements; withdrawal stops capture and requests', async () => {
  test.setTimeout(300_000);
  const cert = makeTestCertificate(HOST);
  const server = await startServer({ TACIT_METRICS_TOKEN: METRICS_TOKEN }, { tls: cert });
  let display: VirtualDisplay | undefined;
  let ext: LoadedExtension | undefined;
  try {
    display = await startVirtualDisplay();
    ext = await launchWithExtension({
      consent: false,
      display: display.display,
      args: [
        `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
        `--ignore-certificate-errors-spki-list=${cert.spkiSha256}`,
      ],
    });
    const extensionRequests = async (): Promise<number> => {
      const { json } = await httpsJson(cert, server.port, '/metrics', {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      return String(json)
        .split('\n')
        .filter(
          (line) => line.startsWith('tacit_http_requests_total{') && EXTENSION_ROUTES.test(line),
        )
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    };

    // 1. First run: the consent page is open and nothing is registered until the person agrees.
    const consent = await consentPage(ext);
    await expect(consent.locator('h1')).toContainText('how you type');
    expect(
      await ext.serviceWorker.evaluate(() => chrome.scripting.getRegisteredContentScripts()),
    ).toEqual([]);
    await consent.setViewportSize({ width: 900, height: 1000 });
    await consent.screenshot({ path: 'docs/img/consent.png', fullPage: true });
    await consent.click('#agree');
    await expect(consent.locator('#status')).toContainText('Tacit is on');
    await consent.close();

    // 2. Options: the bank's server, then the bank's site, granted through the browser's prompt.
    const options = await ext.context.newPage();
    await options.goto(`chrome-extension://${ext.extensionId}/src/options/options.html`);
    await options.fill('#serverUrl', server.url);
    await options.click('#general-save');
    await expect(options.locator('#saved')).toHaveText('Saved.');
    await options.fill('#new-site', `${server.bankUrl}/bank/login`);
    await options.bringToFront();
    await options.click('#add-site button[type="submit"]');
    await options.waitForTimeout(1500); // the prompt opens
    // Chromium's prompt focuses "Deny" first; the next button is "Allow".
    display.keys('Tab', 'Return');
    const site = options.locator('#sites li', { hasText: server.bankUrl });
    await expect(site).toContainText('Active');
    expect(
      await ext.serviceWorker.evaluate(
        (o) => chrome.permissions.contains({ origins: [o] }),
        `https://${HOST}/*`,
      ),
    ).toBe(true);
    await waitForCaptureRegistration(ext, server.bankUrl);
    await options.setViewportSize({ width: 900, height: 1100 });
    await options.screenshot({ path: 'docs/img/options.png', fullPage: true });

    // 3. The bank: log in, enrol this device, type; the server verifies the statements.
    const page = await ext.context.newPage();
    await login(page, server, 'carol', TYPIST);
    await Promise.all([
      page.waitForURL('**/bank/accounts?enrolled=pending'),
      page.click('#enroll'),
    ]);
    const popup = await ext.context.newPage();
    await popup.goto(`chrome-extension://${ext.extensionId}/src/popup/popup.html`);
    await page.bringToFront();
    const tab = async () =>
      send<TabStatus>(popup, { type: 'tab-status', tabId: await tabIdOf(popup, page) });
    await expect.poll(async () => (await tab()).device.enrolled).toBe(true);
    await page.click('#to-transfer');
    const sid = await sessionId(page);
    await expect.poll(async () => (await tab()).session?.learning).toBe(true);
    await page.click('#memo');
    await typeWithRhythm(page, TEXT.repeat(2), TYPIST);
    await expect
      .poll(async () => (await tab()).lastStatement?.result, { timeout: 30_000 })
      .toBe('accepted');
    const auth = { authorization: `Bearer ${server.bankKey}` };
    const token = await httpsJson(cert, server.port, `/v1/sessions/${sid}/token`, {
      method: 'POST',
      headers: auth,
    });
    expect(token.status).toBe(200);
    const introspect = async () =>
      (
        await httpsJson(cert, server.port, '/v1/introspect', {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: (token.json as { token: string }).token }).toString(),
        })
      ).json as { active: boolean; tacit_attestations: number };
    const before = await introspect();
    expect(before.active).toBe(true);
    expect(before.tacit_attestations).toBeGreaterThan(0);

    // 4. Withdraw consent in the options page: the page stops capturing at its next batch, and
    // from then on nothing reaches any store and no request leaves.
    await options.bringToFront();
    await options.click('#consent-toggle');
    await expect(options.locator('#consent-state')).toContainText('records nothing');
    await expect
      .poll(() => ext!.serviceWorker.evaluate(() => chrome.scripting.getRegisteredContentScripts()))
      .toEqual([]);
    await page.bringToFront();
    await page.waitForTimeout(2500); // a batch in flight at the moment of withdrawal lands
    const stores = await storeSnapshot(popup);
    const history = (await ext.serviceWorker.evaluate(() =>
      chrome.storage.local.get(null),
    )) as Record<string, unknown>;
    const requests = await extensionRequests();
    const attested = (await introspect()).tacit_attestations;
    await page.click('#memo');
    await typeWithRhythm(page, TEXT.repeat(2), { ...TYPIST, seed: 6 });
    await page.mouse.move(400, 300, { steps: 60 });
    await page.reload(); // a new page load: no content script any more
    await page.click('#memo');
    await typeWithRhythm(page, TEXT, { ...TYPIST, seed: 7 });
    await page.waitForTimeout(3000);
    expect(await storeSnapshot(popup)).toEqual(stores);
    expect(await ext.serviceWorker.evaluate(() => chrome.storage.local.get(null))).toEqual(history);
    expect(await extensionRequests()).toBe(requests);
    expect((await introspect()).tacit_attestations).toBe(attested);
    expect((await tab()).capturing).toBe(false);
  } finally {
    await ext?.close();
    await display?.stop();
    await server.stop();
  }
});
