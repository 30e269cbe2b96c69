import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { RecordedRequest } from './support/server';
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
  const started = Date.now();
  const page = await ext.context.newPage();
  await login(page, server, 'alice', HOLDER);

  // Enroll: the bank shows a one-time code, the extension registers its key with it.
  await Promise.all([page.waitForURL('**/bank/accounts?enrolled=pending'), page.click('#enroll')]);
  const code = await page.locator('meta[name="tacit-enrollment"]').getAttribute('content');
  expect(code).toMatch(/^[0-9A-Z-]{6,}$/);
  const popup = await extensionPage(ext);
  await page.bringToFront(); // a hidden tab's input is throttled and its timings distorted
  await expect.poll(async () => (await status(popup)).enrolled).toBe(true);

  await page.click('#to-transfer');
  const sid = await sessionId(page);
  await expect.poll(async () => (await status(popup)).session?.bound).toBe(true);

  // Learn: the holder types and moves until the model is trained.
  await page.click('#memo');
  for (let round = 0; round < 8; round++) {
    await typeWithRhythm(page, TEXT, { ...HOLDER, seed: 10 + round });
    await moveWithRhythm(page, 6, { ...HOLDER_MOUSE, seed: 20 + round });
    await page.click('#memo');
    const s = await status(popup);
    console.log(
      `enrol round ${round} at ${((Date.now() - started) / 1000).toFixed(0)} s`,
      JSON.stringify(s.model),
    );
    if (s.model?.state === 'scoring' && s.model.modalities.keystroke.trained) break;
  }
  const trained = await status(popup);
  expect(trained.model?.modalities.keystroke.trained).toBe(true);

  // The holder keeps typing: scored windows, high confidence.
  const holderFrom = recorder.requests.length;
  for (let round = 0; round < 2; round++) {
    await typeWithRhythm(page, TEXT, { ...HOLDER, seed: 90 + round });
    await moveWithRhythm(page, 6, { ...HOLDER_MOUSE, seed: 95 + round });
    await page.click('#memo');
  }
  await page.waitForTimeout(2500); // the last batch flushes and is attested
  const holderConfs = attestedConfidences(recorder.requests.slice(holderFrom));
  const holderStatus = await status(popup);
  const holderView = await introspect(server, sid);
  console.log('holder confidences', holderConfs.map((c) => c.toFixed(2)).join(' '), holderView);

  // The server received attestations whose signatures it verified, and shows their assurance.
  expect(holderConfs.length).toBeGreaterThanOrEqual(4);
  expect(holderView.active).toBe(true);
  expect(holderView.tacit_state).toBe('scoring');
  expect(holderView.cnf?.jkt).toBe(holderStatus.deviceId);
  expect(holderView.tacit_attestations).toBeGreaterThan(holderConfs.length);
  const holderMean = mean(holderConfs);
  expect(holderMean).toBeGreaterThan(0.6);
  // Assurance follows the worker's scores (EWMA of the attested confidences).
  expect(Math.abs(holderView.tacit_assurance! - mean(holderConfs.slice(-2)))).toBeLessThan(0.25);

  // MV3 stops idle service workers: stop it now. Sequence and chain state must survive.
  const cdp = await ext.context.newCDPSession(page);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');

  // Someone else takes over the keyboard and mouse in the same browser.
  const otherFrom = recorder.requests.length;
  for (let round = 0; round < 3; round++) {
    await typeWithRhythm(page, TEXT, { ...OTHER, seed: 50 + round });
    await moveWithRhythm(page, 6, { ...OTHER_MOUSE, seed: 60 + round });
    await page.click('#memo');
  }
  await page.waitForTimeout(2500);
  const otherConfs = attestedConfidences(recorder.requests.slice(otherFrom));
  const otherView = await introspect(server, sid);
  console.log('other confidences', otherConfs.map((c) => c.toFixed(2)).join(' '), otherView);

  // Once the fused confidence has caught up with the change, it is clearly lower.
  const settled = otherConfs.slice(-4);
  expect(settled.length).toBe(4);
  expect(mean(settled)).toBeLessThan(0.3);
  expect(mean(settled)).toBeLessThan(holderMean - 0.4);
  expect(otherView.tacit_assurance!).toBeLessThan(holderView.tacit_assurance! - 0.3);
  // Every statement after the restart was verified and accepted (seq and chain continued).
  expect(otherView.tacit_attestations).toBe(holderView.tacit_attestations! + otherConfs.length);
  expect(['low', 'medium']).toContain(otherView.tacit_level);
});

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The confidences of the scoring attestations among recorded requests, in order. */
function attestedConfidences(requests: RecordedRequest[]): number[] {
  return requests
    .filter((r) => r.path === '/v1/attestations')
    .map((r) => {
      const jws = (JSON.parse(r.body) as { attestation: string }).attestation;
      expect(decodeProtectedHeader(jws)).toMatchObject({ alg: 'ES256', typ: 'tacit-att+jwt' });
      return decodeJwt(jws) as { state: string; conf: number | null };
    })
    .filter((p) => p.state === 'scoring' && p.conf !== null)
    .map((p) => p.conf!);
}
