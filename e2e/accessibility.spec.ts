import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { login } from './support/bank';
import { expect, test } from './support/fixtures';

// Every page of the extension a person meets, checked by axe-core against WCAG 2.1 A and AA
// (labels, names, contrast, landmarks, live regions): zero violations.
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

async function violations(page: Page): Promise<{ id: string; nodes: string[] }[]> {
  const result = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  return result.violations.map((v) => ({
    id: v.id,
    nodes: v.nodes.map((n) => n.target.join(' ')),
  }));
}

test('consent, options and popup have no WCAG 2.1 AA violation (axe-core)', async ({
  ext,
  server,
}) => {
  const base = `chrome-extension://${ext.extensionId}/src`;
  const page = await ext.context.newPage();

  await page.goto(`${base}/consent/consent.html`);
  await expect(page.locator('#status')).toContainText('Tacit is on');
  expect(await violations(page)).toEqual([]);

  await page.goto(`${base}/options/options.html`);
  await expect(page.locator('#sites li').first()).toContainText('Active');
  expect(await violations(page)).toEqual([]);
  // Keyboard: every control is reachable with Tab, in order, and shows its focus.
  const focused: string[] = [];
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    focused.push(
      await page.evaluate(
        () => document.activeElement?.id || document.activeElement?.textContent?.trim() || '',
      ),
    );
  }
  expect(focused).toContain('consent-toggle');
  expect(focused).toContain('new-site');
  expect(focused).toContain('serverUrl');
  // The check itself can fail: an input stripped of its label is reported.
  await page.evaluate(() =>
    document.querySelector('label[for="serverUrl"]')!.removeAttribute('for'),
  );
  expect((await violations(page)).map((v) => v.id)).toContain('label');

  // The popup as it shows a bank tab: enrolment in progress.
  const bank = await ext.context.newPage();
  await login(bank, server, 'ada', { holdMs: 100, gapMs: 120, jitter: 0.1, seed: 3 });
  const tabId = await page.evaluate(
    async (u) => (await chrome.tabs.query({})).find((t) => t.url === u)!.id!,
    bank.url(),
  );
  await page.setViewportSize({ width: 348, height: 600 });
  await page.goto(`${base}/popup/popup.html?tab=${tabId}`);
  await expect(page.locator('#state-title')).not.toHaveText('…');
  expect(await violations(page)).toEqual([]);
});
