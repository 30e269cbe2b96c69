import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TabStatus } from '../src/shared/protocol';
import { login } from './support/bank';
import {
  launchWithExtension,
  typeWithRhythm,
  waitForCaptureRegistration,
  type LoadedExtension,
} from './support/extension';
import { expect, test } from './support/fixtures';

// A managed staff browser: Debian Chromium reads policies from this folder at start-up. The
// policy file is written for this test and removed afterwards (project `system-policy` of
// playwright.config.ts: no other test's browser runs while it exists).
const POLICY_DIR = process.env.CHROMIUM_POLICY_DIR ?? '/etc/chromium/policies/managed';
/** Fixed by the manifest's `key` (docs/enterprise.md). */
const EXTENSION_ID = 'ncmjhdbejcemcpikjidibbgbflieoobh';

test('an organisation’s policy applies: settings and sites fixed and locked, consent recorded, capture without a prompt', async ({
  server,
}) => {
  const file = join(POLICY_DIR, `tacit-e2e-${process.pid}.json`);
  const settings = {
    serverUrl: server.url,
    protectedOrigins: [server.bankUrl],
    attestationIntervalMs: 1000,
    retentionDays: 30,
    organisationConsent: true,
    modelImprovement: false,
  };
  mkdirSync(POLICY_DIR, { recursive: true });
  writeFileSync(file, JSON.stringify({ '3rdparty': { extensions: { [EXTENSION_ID]: settings } } }));
  let ext: LoadedExtension | undefined;
  try {
    ext = await launchWithExtension({ consent: false });
    expect(ext.extensionId).toBe(EXTENSION_ID);
    expect(await ext.serviceWorker.evaluate(() => chrome.storage.managed.get(null))).toEqual(
      settings,
    );

    // Consent is the organisation's: no first-run question, capture registered at once.
    await waitForCaptureRegistration(ext, server.bankUrl);
    await new Promise((r) => setTimeout(r, 1000));
    expect(
      ext.context
        .pages()
        .map((p) => p.url())
        .filter((u) => u.includes('/consent/')),
    ).toEqual([]);

    // The options page shows every setting as managed and lets none be changed.
    const options = await ext.context.newPage();
    await options.goto(`chrome-extension://${ext.extensionId}/src/options/options.html`);
    await expect(options.locator('#managed')).toBeVisible();
    await expect(options.locator('#managed-list')).toHaveText(
      'verification server, protected sites, statement interval, retention, consent, model improvement',
    );
    await expect(options.locator('#consent-state')).toContainText('Your organisation gave consent');
    await expect(options.locator('#consent-toggle')).toBeHidden();
    await expect(options.locator('#serverUrl')).toBeDisabled();
    await expect(options.locator('#serverUrl')).toHaveValue(server.url);
    await expect(options.locator('#retentionDays')).toBeDisabled();
    await expect(options.locator('#retentionDays')).toHaveValue('30');
    await expect(options.locator('#modelImprovement')).toBeDisabled();
    await expect(options.locator('#new-site')).toBeDisabled();
    await expect(options.locator('#sites li')).toHaveCount(1);
    await expect(options.locator('#sites li')).toContainText('Set by your organisation · Active');
    await expect(options.locator('#general-save')).toBeDisabled();
    await expect(options.locator('#sites button')).toHaveCount(0);
    await options.setViewportSize({ width: 900, height: 900 });
    await options.screenshot({ path: 'docs/img/options-managed.png', fullPage: true });
    // Nor through storage: a user value under a managed key changes nothing that applies.
    await ext.serviceWorker.evaluate(() =>
      chrome.storage.local.set({
        config: {
          serverUrl: 'https://evil.example',
          protectedOrigins: ['https://evil.example'],
          retentionDays: 3650,
        },
      }),
    );
    await options.reload();
    await expect(options.locator('#serverUrl')).toHaveValue(server.url);
    await expect(options.locator('#retentionDays')).toHaveValue('30');

    // Capture runs on the policy's origin: a statement reaches the server and is accepted.
    const page = await ext.context.newPage();
    await login(page, server, 'dora', { holdMs: 100, gapMs: 120, jitter: 0.15, seed: 9 });
    await Promise.all([
      page.waitForURL('**/bank/accounts?enrolled=pending'),
      page.click('#enroll'),
    ]);
    await page.click('#to-transfer');
    await page.click('#memo');
    await typeWithRhythm(page, 'monthly report for the branch ', {
      holdMs: 100,
      gapMs: 120,
      jitter: 0.15,
      seed: 10,
    });
    const tabId = await options.evaluate(
      async (u) => (await chrome.tabs.query({})).find((t) => t.url === u)!.id!,
      page.url(),
    );
    await expect
      .poll(
        async () =>
          (
            (await options.evaluate(
              (id) => chrome.runtime.sendMessage({ type: 'tab-status', tabId: id }),
              tabId,
            )) as TabStatus
          ).lastStatement?.result,
        {
          timeout: 30_000,
        },
      )
      .toBe('accepted');
    const tab = (await options.evaluate(
      (id) => chrome.runtime.sendMessage({ type: 'tab-status', tabId: id }),
      tabId,
    )) as TabStatus;
    expect(tab.consent).toEqual({ given: true, by: 'organisation' });
  } finally {
    await ext?.close();
    rmSync(file, { force: true });
    expect(existsSync(file)).toBe(false);
  }
});
