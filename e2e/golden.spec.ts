import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkGolden } from '../model/features/golden';
import { extensionPage } from './support/extension';
import { expect, test } from './support/fixtures';
import { ROOT } from './support/server';

// The same golden file, checked by the same code, in Node and in the real worker in Chromium:
// feature extraction cannot drift between training/evaluation and the device.
test('the worker in Chromium reproduces the golden feature vectors', async ({ ext }) => {
  const golden = JSON.parse(
    readFileSync(join(ROOT, 'model/features/golden-v2.json'), 'utf8'),
  ) as unknown;
  const node = checkGolden(golden);
  expect(node.ok).toBe(true);
  expect(node.windows).toBeGreaterThan(0);

  const popup = await extensionPage(ext);
  const browser = (await popup.evaluate(() =>
    chrome.runtime.sendMessage({ type: 'check-golden' }),
  )) as {
    ok: boolean;
    maxAbsDiff: number;
  };
  expect(browser.ok).toBe(true);
  expect(browser.maxAbsDiff).toBeLessThan(1e-4);
});
