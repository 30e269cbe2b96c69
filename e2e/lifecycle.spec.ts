import { decodeJwt } from 'jose';
import { login } from './support/bank';
import {
  extensionPage,
  moveWithRhythm,
  stopBackground,
  tabStatus,
  typeWithRhythm,
  type Typist,
} from './support/extension';
import { expect, test } from './support/fixtures';
import { storeSnapshot } from './support/stores';

const HOLDER: Typist = { holdMs: 110, gapMs: 130, jitter: 0.15, seed: 1 };
const TEXT =
  'the quick brown fox jumps over the lazy dog while my rent is due on monday so pay it now ';

test('stopping the service worker and the offscreen document mid-enrolment loses no enrolment data; capture and scoring resume', async ({
  ext,
  server,
  recorder,
}) => {
  const page = await ext.context.newPage();
  await login(page, server, 'dora', HOLDER);
  await Promise.all([page.waitForURL('**/bank/accounts?enrolled=pending'), page.click('#enroll')]);
  const popup = await extensionPage(ext);
  await page.bringToFront();
  await page.click('#to-transfer');
  await expect.poll(async () => (await tabStatus(popup, page)).session?.learning).toBe(true);

  // Half an enrolment, then both background contexts are stopped.
  await page.click('#memo');
  await typeWithRhythm(page, TEXT + TEXT, { ...HOLDER, seed: 11 });
  await page.waitForTimeout(2000);
  const before = await storeSnapshot(popup);
  const windowsBefore = Object.values(before.windowsBySubject)[0]!;
  expect(windowsBefore).toBeGreaterThanOrEqual(5);
  const progressBefore = (await tabStatus(popup, page)).model!.progress;
  await stopBackground(ext, page);

  // Stored windows survive; enrolment continues from where it was, without reloading the page.
  expect((await storeSnapshot(popup)).windowsBySubject).toEqual(before.windowsBySubject);
  expect((await tabStatus(popup, page)).model!.progress).toBeCloseTo(progressBefore, 5);
  await page.click('#memo');
  for (let round = 0; round < 4; round++) {
    await typeWithRhythm(page, TEXT, { ...HOLDER, seed: 20 + round });
    await moveWithRhythm(page, 4, { stepPx: 12, stepMs: 16, seed: 30 + round });
    await page.click('#memo');
    if ((await tabStatus(popup, page)).model?.state === 'scoring') break;
  }
  const trained = await tabStatus(popup, page);
  expect(trained.model?.state).toBe('scoring');
  expect(trained.model!.modalities.keystroke.enrolWindows).toBeGreaterThanOrEqual(10);

  // Stopped again while scoring: the next statements still carry scores, the chain continues.
  await stopBackground(ext, page);
  const from = recorder.requests.length;
  await page.click('#memo');
  await typeWithRhythm(page, TEXT, { ...HOLDER, seed: 40 });
  await page.waitForTimeout(2500);
  const after = recorder.requests
    .slice(from)
    .filter((r) => r.path === '/v1/attestations')
    .map(
      (r) =>
        decodeJwt((JSON.parse(r.body) as { attestation: string }).attestation) as {
          state: string;
          conf: number | null;
        },
    );
  expect(
    after.filter((a) => a.state === 'scoring' && a.conf !== null).length,
  ).toBeGreaterThanOrEqual(2);
  const status = await tabStatus(popup, page);
  expect(status.lastStatement?.result).toBe('accepted');
  expect(status.modelError).toBeNull();
});
