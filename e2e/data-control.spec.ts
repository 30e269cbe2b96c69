import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { PRODUCT } from '../model/product/scorer';
import type { DeleteEverythingReply, ExportReply, TabStatus } from '../src/shared/protocol';
import {
  configure,
  extensionPage,
  moveWithRhythm,
  typeWithRhythm,
  type Typist,
} from './support/extension';
import { expect, test } from './support/fixtures';
import type { RunningServer } from './support/server';
import { storeSnapshot } from './support/stores';

// The demo bank lets one device serve several people here (decision policy `sharedDevices`).
const policyDir = mkdtempSync(join(tmpdir(), 'tacit-policy-'));
const policyFile = join(policyDir, 'policy.json');
writeFileSync(
  policyFile,
  JSON.stringify({ version: 1, relyingParties: { 'demo-bank': { sharedDevices: true } } }),
);
test.use({ serverEnv: { TACIT_POLICY_FILE: policyFile } });

const ALICE: Typist = { holdMs: 110, gapMs: 130, jitter: 0.15, seed: 1 };
const BOB: Typist = { holdMs: 45, gapMs: 60, jitter: 0.15, seed: 2 };
const CANARY = 'zq7kanaryvx';
const TEXT =
  'the quick brown fox jumps over the lazy dog while my rent is due on monday so pay it now ';
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

async function send<T>(page: Page, message: unknown): Promise<T> {
  return page.evaluate((m) => chrome.runtime.sendMessage(m), message) as Promise<T>;
}

/** Types on the login page (long enough for several windows), then logs in as `username`. */
async function loginAfterTyping(
  page: Page,
  server: RunningServer,
  username: string,
  typist: Typist,
): Promise<void> {
  await page.goto(`${server.bankUrl}/bank/login`);
  await page.click('#username');
  await typeWithRhythm(page, TEXT.slice(0, 70), typist); // 3 windows' worth of keys, then erased
  await page.fill('#username', '');
  await typeWithRhythm(page, username, typist);
  await page.click('#password');
  await typeWithRhythm(page, 'demo', typist);
  await Promise.all([page.waitForURL('**/bank/accounts'), page.click('#login')]);
}

async function enrolHere(page: Page, popup: Page, subjects: number): Promise<void> {
  await Promise.all([page.waitForURL('**/bank/accounts?enrolled=pending'), page.click('#enroll')]);
  await page.bringToFront();
  await expect
    .poll(
      async () =>
        (await send<TabStatus>(popup, { type: 'tab-status', tabId: await tabIdOf(popup, page) }))
          .device.subjects,
    )
    .toBe(subjects);
  await expect
    .poll(
      async () =>
        (await send<TabStatus>(popup, { type: 'tab-status', tabId: await tabIdOf(popup, page) }))
          .session?.learning,
    )
    .toBe(true);
}

/** The browser's id of the tab showing `page` (read by the extension, which can see its URL). */
async function tabIdOf(extension: Page, page: Page): Promise<number> {
  const url = page.url();
  return extension.evaluate(
    async (u) => (await chrome.tabs.query({})).find((t) => t.url === u)!.id!,
    url,
  );
}

test('only the vouched subject learns: login-page typing and a second person never reach the first model; export; delete everything', async ({
  ext,
  server,
}) => {
  // Straight to the server, not through the recording proxy: DPoP proofs (revocation) name the
  // URL the device calls, which must be the server's own.
  await configure(ext, {
    serverUrl: server.url,
    protectedOrigins: [server.bankUrl],
    attestationIntervalMs: 1000,
  });
  const page = await ext.context.newPage();
  const popup = await extensionPage(ext);

  // 1. Typing on the login page, before any bank session is vouched for: nothing stored.
  await loginAfterTyping(page, server, 'alice', ALICE);
  await page.waitForTimeout(1500); // the batches flush
  let stores = await storeSnapshot(popup);
  expect(sum(stores.windowsBySubject)).toBe(0);

  // 2. Alice enrols this device and learns on her vouched session (plus a canary in a memo).
  await enrolHere(page, popup, 1);
  // The page agrees with the extension: enrolled, the used code and the button are gone.
  await expect(page.locator('#device-status')).toHaveText('enrolled');
  await expect(page.locator('#enrollment-code')).toBeHidden();
  await expect(page.locator('#enroll')).toBeHidden();
  await page.click('#to-transfer');
  await page.click('#memo');
  // Typed in chunks of 10 keys to measure how many presses enrolment takes (README figure):
  // the product's 20 windows of 20 keys, with room for windows lost and 120 keys after it.
  const stream = `${CANARY} ${TEXT.repeat(8)}`;
  const startedAt = Date.now();
  let presses = 0;
  let enrolledAfter: { presses: number; seconds: number } | null = null;
  const halfWay = (PRODUCT.minEnrollWindows.keystroke * PRODUCT.windows.keysPerWindow) / 2;
  let sawHalfWay = false;
  for (let i = 0; i < stream.length; i += 10) {
    const chunk = stream.slice(i, i + 10);
    await typeWithRhythm(page, chunk, { ...ALICE, seed: 10 + i });
    presses += chunk.length;
    const tab = await send<TabStatus>(popup, {
      type: 'tab-status',
      tabId: await tabIdOf(popup, page),
    });
    if (!sawHalfWay && presses >= halfWay) {
      // Half-way: the bank panel shows the progress the device reports, as the popup does.
      sawHalfWay = true;
      await expect(page.locator('#enrolment-progress')).toBeVisible();
      await expect(page.locator('#enrolment-value')).toHaveText(/^\d+ %$/);
      expect(tab.model?.state).toBe('enrolling');
    }
    if (enrolledAfter === null && tab.model?.modalities.keystroke.trained) {
      enrolledAfter = { presses, seconds: Math.round((Date.now() - startedAt) / 1000) };
      console.log(
        `enrolment: keystroke model trained after ${presses} key presses (${enrolledAfter.seconds} s)`,
      );
    }
    if (enrolledAfter !== null && presses - enrolledAfter.presses >= 120) break;
  }
  expect(sawHalfWay).toBe(true);
  expect(enrolledAfter).not.toBeNull();
  await moveWithRhythm(page, 4, { stepPx: 12, stepMs: 16, seed: 20 });
  await page.waitForTimeout(2000);
  stores = await storeSnapshot(popup);
  const aliceKeys = Object.keys(stores.windowsBySubject);
  expect(aliceKeys).toHaveLength(1);
  const aliceKey = aliceKeys[0]!;
  const aliceWindows = stores.windowsBySubject[aliceKey]!;
  expect(aliceWindows).toBeGreaterThanOrEqual(PRODUCT.minEnrollWindows.keystroke);
  expect(stores.modelsBySubject[aliceKey]).toBeGreaterThanOrEqual(1);

  // The popup of Alice's tab after her typing session: progress done, live chart, last statement.
  const tabId = await tabIdOf(popup, page);
  const shot = await ext.context.newPage();
  await shot.setViewportSize({ width: 348, height: 300 }); // fullPage grows it to the content
  await shot.goto(`chrome-extension://${ext.extensionId}/src/popup/popup.html?tab=${tabId}`);
  await expect(shot.locator('#state-title')).toHaveText('Recognising you');
  await expect(shot.locator('#chart canvas')).toBeVisible();
  await expect(shot.locator('#last-statement')).toContainText('accepted');
  await shot.waitForTimeout(1200);
  await shot.screenshot({ path: 'docs/img/popup-live-chart.png', fullPage: true });
  await shot.close();

  // 3. Bob logs in on the same browser (typing on the login page again), enrols, and types.
  await page.goto(`${server.bankUrl}/bank/logout`);
  await loginAfterTyping(page, server, 'bob', BOB);
  await page.waitForTimeout(1500);
  expect((await storeSnapshot(popup)).windowsBySubject).toEqual({ [aliceKey]: aliceWindows });
  await enrolHere(page, popup, 2);
  await page.click('#to-transfer');
  await page.click('#memo');
  await typeWithRhythm(page, TEXT, { ...BOB, seed: 30 });
  await page.waitForTimeout(2000);
  stores = await storeSnapshot(popup);
  const bobKey = Object.keys(stores.windowsBySubject).find((k) => k !== aliceKey)!;
  expect(bobKey).toBeDefined();
  expect(stores.windowsBySubject[bobKey]).toBeGreaterThan(0);
  expect(stores.windowsBySubject[aliceKey]).toBe(aliceWindows); // Bob's typing never reached Alice's model
  expect(stores.modelsBySubject[bobKey] ?? 0).toBe(0);

  // 4. Export: the expected fields, both people, the history, and no canary or raw data.
  const exported = await send<ExportReply>(popup, { type: 'export-data' });
  expect(exported.ok).toBe(true);
  const doc = exported.document!;
  expect(doc).toMatchObject({
    format: 'tacit-export',
    version: 1,
    serverUrl: server.url,
    retentionDays: 90,
  });
  expect(doc.device?.subjects).toHaveLength(2);
  const bySubject = new Map(doc.subjects.map((s) => [s.subjectKey, s]));
  expect(bySubject.get(aliceKey)?.subject).toBe(doc.device!.subjects[0]);
  expect(bySubject.get(bobKey)?.subject).toBe(doc.device!.subjects[1]);
  expect(bySubject.get(aliceKey)!.windows.reduce((n, w) => n + w.count, 0)).toBe(aliceWindows);
  expect(bySubject.get(aliceKey)!.models.map((m) => m.modality)).toContain('keystroke');
  expect(doc.attestations.length).toBeGreaterThan(5);
  expect(doc.attestations.at(-1)).toEqual(
    expect.objectContaining({
      result: 'accepted',
      seq: expect.any(Number),
      at: expect.any(String),
    }),
  );
  const text = JSON.stringify(doc);
  expect(text.toLowerCase()).not.toContain(CANARY);
  expect(text).not.toMatch(/"(vector|steps|json|embedding|weights|t|k|c)":/);

  // 5. Delete everything: the server revokes the device, every store and storage area is empty.
  await page.goto(`${server.bankUrl}/bank/logout`); // nothing typed meanwhile reaches the stores
  const deviceId = doc.device!.deviceId;
  const deleted = await send<DeleteEverythingReply>(popup, { type: 'delete-everything' });
  expect(deleted).toEqual({ ok: true, revoked: 2, error: null });
  stores = await storeSnapshot(popup);
  for (const [store, count] of Object.entries(stores.records)) expect(count, store).toBe(0);
  expect(stores.databases).not.toContain('tacit-model');
  const storage = await popup.evaluate(async () => ({
    local: await chrome.storage.local.get(null),
    session: await chrome.storage.session.get(null),
  }));
  expect(storage).toEqual({ local: {}, session: {} });
  for (const subject of doc.device!.subjects) {
    const response = await fetch(
      `${server.url}/v1/devices?subject=${encodeURIComponent(subject)}`,
      {
        headers: { authorization: `Bearer ${server.bankKey}` },
      },
    );
    const { devices } = (await response.json()) as {
      devices: { deviceId: string; revokedAt: string | null }[];
    };
    expect(devices.find((d) => d.deviceId === deviceId)?.revokedAt).toEqual(expect.any(String));
  }
});
