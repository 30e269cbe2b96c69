import { decodeProtectedHeader } from 'jose';
import { login, introspect, sessionId } from './support/bank';
import { extensionPage, moveWithRhythm, typeWithRhythm, type Typist } from './support/extension';
import { expect, test } from './support/fixtures';
import type { ExtensionStatus } from '../src/shared/protocol';

// Two "people": the account holder types with long, even holds and gaps; the second person
// types twice as fast with short holds, and moves the pointer faster.
const HOLDER: Typist = { holdMs: 110, gapMs: 130, jitter: 0.15, seed: 1 };
const OTHER: Typist = { holdMs: 45, gapMs: 60, jitter: 0.15, seed: 2 };
const HOLDER_MOUSE = { stepPx: 12, stepMs: 16, seed: 3 };
const OTHER_MOUSE = { stepPx: 45, stepMs: 8, seed: 4 };

const TEXT =
  'the quick brown fox jumps over the lazy dog while my rent is due on monday so pay it now ';

async function status(page: import('@playwright/test').Page): Promise<ExtensionStatus> {
  return page.evaluate(() => chrome.runtime.sendMessage({ type: 'status' }));
}

test('a holder enrolls, is recognised, and a different person lowers the assurance', async ({
  ext,
  server,
  recorder,
}) => {
  const page = await ext.context.newPage();
  await login(page, server, 'alice', HOLDER);

  // Enroll: the bank shows a one-time code, the extension registers its key with it.
  await Promise.all([page.waitForURL('**/bank/accounts?enrolled=pending'), page.click('#enroll')]);
  const code = await page.locator('meta[name="tacit-enrollment"]').getAttribute('content');
  expect(code).toMatch(/^[0-9A-Z-]{6,}$/);
  const popup = await extensionPage(ext);
  await expect.poll(async () => (await status(popup)).enrolled).toBe(true);

  await page.click('#to-transfer');
  const sid = await sessionId(page);
  await expect.poll(async () => (await status(popup)).session?.bound).toBe(true);

  // Learn: the holder types and moves until the model is trained.
  await page.click('#memo');
  for (let round = 0; round < 8; round++) {
    await typeWithRhythm(page, TEXT, { ...HOLDER, seed: 10 + round });
    await moveWithRhythm(page, 3, { ...HOLDER_MOUSE, seed: 20 + round });
    await page.click('#memo');
    const s = await status(popup);
    console.log('round', round, JSON.stringify(s));
    if (s.model?.state === 'scoring' && s.model.modalities.keystroke.trained) break;
  }
  const trained = await status(popup);
  expect(trained.model?.modalities.keystroke.trained).toBe(true);

  // The holder keeps typing: scored windows, high confidence.
  await typeWithRhythm(page, TEXT, { ...HOLDER, seed: 99 });
  await moveWithRhythm(page, 2, { ...HOLDER_MOUSE, seed: 98 });
  await page.click('#memo');
  await typeWithRhythm(page, TEXT.slice(0, 40), { ...HOLDER, seed: 97 });
  await page.waitForTimeout(2500); // the last batch flushes and is attested
  const holderStatus = await status(popup);
  const holderConfidence = holderStatus.lastConfidence;
  expect(holderConfidence).not.toBeNull();
  const holderView = await introspect(server, sid);
  expect(holderView.active).toBe(true);
  expect(holderView.tacit_state).toBe('scoring');
  expect(holderView.cnf?.jkt).toBe(holderStatus.deviceId);

  // The server received attestations whose signatures it verified (it answered 202 to them).
  const attestations = recorder.requests.filter((r) => r.path === '/v1/attestations');
  expect(attestations.length).toBeGreaterThan(3);
  const first = JSON.parse(attestations[0]!.body) as { attestation: string };
  expect(decodeProtectedHeader(first.attestation)).toMatchObject({ alg: 'ES256', typ: 'tacit-att+jwt' });
  expect(holderView.tacit_attestations).toBeGreaterThan(3);

  // Assurance follows the worker's scores.
  expect(holderConfidence!).toBeGreaterThan(0.6);
  expect(holderView.tacit_assurance).toBeGreaterThan(0.5);

  // Someone else takes over the keyboard and mouse in the same browser.
  await page.click('#memo');
  for (let round = 0; round < 3; round++) {
    await typeWithRhythm(page, TEXT, { ...OTHER, seed: 50 + round });
    await moveWithRhythm(page, 2, { ...OTHER_MOUSE, seed: 60 + round });
    await page.click('#memo');
  }
  await page.waitForTimeout(2500);
  const otherConfidence = (await status(popup)).lastConfidence;
  const otherView = await introspect(server, sid);

  expect(otherConfidence).not.toBeNull();
  expect(otherConfidence!).toBeLessThan(0.3);
  expect(otherConfidence!).toBeLessThan(holderConfidence! - 0.4);
  expect(otherView.tacit_assurance!).toBeLessThan(holderView.tacit_assurance! - 0.3);
  expect(['low', 'medium']).toContain(otherView.tacit_level);
});
