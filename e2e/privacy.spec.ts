import { readFileSync, existsSync } from 'node:fs';
import { login } from './support/bank';
import type { ExtensionStatus } from '../src/shared/protocol';
import { configure, extensionPage, typeWithRhythm, type Typist } from './support/extension';
import { expect, test } from './support/fixtures';

// Typed, pasted and autofilled into the bank page; must never appear anywhere we can look.
const CANARY = 'zq7kanaryvx';
const TYPIST: Typist = { holdMs: 70, gapMs: 60, jitter: 0.1, seed: 7 };

/** Every JWS payload and header inside a text, decoded, so encoded copies are found too. */
function decodedSegments(text: string): string {
  const parts = text.match(/[A-Za-z0-9_-]{16,}/g) ?? [];
  return parts.map((p) => Buffer.from(p, 'base64url').toString('utf8')).join('\n');
}

function containsCanary(text: string): boolean {
  const lower = text.toLowerCase();
  return lower.includes(CANARY) || decodedSegments(text).toLowerCase().includes(CANARY);
}

test('a canary typed, pasted and autofilled is in no storage, no request and not on the server', async ({
  ext,
  server,
  recorder,
}) => {
  // The detector itself must be able to find the canary, plain or inside a JWS segment.
  expect(containsCanary(`{"memo":"${CANARY.toUpperCase()}"}`)).toBe(true);
  expect(containsCanary(`x.${Buffer.from(`{"m":"${CANARY}"}`).toString('base64url')}.y`)).toBe(
    true,
  );

  const page = await ext.context.newPage();
  await login(page, server, 'carol', TYPIST);
  await Promise.all([page.waitForURL('**/bank/accounts?enrolled=pending'), page.click('#enroll')]);
  const popup = await extensionPage(ext);
  await page.bringToFront(); // a hidden tab's input is throttled and its timings distorted
  await expect
    .poll(() =>
      popup.evaluate(async () => (await chrome.runtime.sendMessage({ type: 'status' })).enrolled),
    )
    .toBe(true);

  await page.click('#to-transfer');
  await page.fill('#payee', CANARY); // autofill-like: a value with no keystrokes
  await page.click('#memo');
  for (let i = 0; i < 6; i++) await typeWithRhythm(page, `${CANARY} `, { ...TYPIST, seed: i });
  await page.keyboard.insertText(` ${CANARY}`); // paste-like
  await page.click('#confirm-password');
  await typeWithRhythm(page, CANARY, TYPIST);
  await page.waitForTimeout(2500); // batches flush, statements are sent
  await Promise.all([page.waitForLoadState(), page.click('#send')]);
  await page.waitForTimeout(500);

  // The extension did see the typing (so the checks below can fail): key events were counted.
  const attestationBodies = recorder.requests.filter((r) => r.path === '/v1/attestations');
  expect(attestationBodies.length).toBeGreaterThan(0);
  const keyEvents = attestationBodies
    .map(
      (r) =>
        JSON.parse(
          Buffer.from(
            (JSON.parse(r.body) as { attestation: string }).attestation.split('.')[1]!,
            'base64url',
          ).toString(),
        ) as { n: { k: number } },
    )
    .reduce((sum, p) => sum + p.n.k, 0);
  expect(keyEvents).toBeGreaterThan(CANARY.length * 6);

  // 1. Every IndexedDB database of the extension, every store, every record.
  const idbDump = await popup.evaluate(async () => {
    const out: string[] = [];
    for (const info of await indexedDB.databases()) {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(info.name!);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      for (const storeName of Array.from(db.objectStoreNames)) {
        const records = await new Promise<unknown[]>((resolve, reject) => {
          const request = db.transaction(storeName).objectStore(storeName).getAll();
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        out.push(`${info.name}/${storeName}:${JSON.stringify(records)}`);
      }
      db.close();
    }
    return out;
  });
  expect(idbDump.some((s) => s.startsWith('tacit-model/windows'))).toBe(true);
  expect(idbDump.some((s) => s.startsWith('tacit-device/keys'))).toBe(true);
  for (const dump of idbDump) expect(containsCanary(dump), dump.slice(0, 40)).toBe(false);

  // 2. Every chrome.storage area.
  const storageDump = await popup.evaluate(async () =>
    JSON.stringify({
      local: await chrome.storage.local.get(null),
      session: await chrome.storage.session.get(null),
      sync: await chrome.storage.sync.get(null),
    }),
  );
  expect(storageDump).toContain('sessions');
  expect(containsCanary(storageDump)).toBe(false);

  // 3. Every request body the extension sent (JWS payloads decoded).
  expect(recorder.requests.length).toBeGreaterThan(2);
  for (const request of recorder.requests)
    expect(containsCanary(request.body), request.path).toBe(false);

  // 4. The verifier's database files, and the demo bank's own store (its form post carried the
  // canary to the bank, which keeps none of it).
  await server.stop();
  const files = [server.dbPath, server.bankDbPath].flatMap((db) => [db, `${db}-wal`]);
  expect(existsSync(server.bankDbPath)).toBe(true);
  for (const file of files) {
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file);
    expect(containsCanary(bytes.toString('latin1')), file).toBe(false);
    expect(bytes.toString('utf16le').toLowerCase().includes(CANARY), file).toBe(false);
  }
});

test('nothing is captured on an origin that is not protected', async ({
  ext,
  server,
  recorder,
}) => {
  await configure(ext, { serverUrl: recorder.url, protectedOrigins: ['https://bank.example'] });
  const page = await ext.context.newPage();
  await login(page, server, 'erin', TYPIST);
  await page.click('#enroll');
  await page.click('#to-transfer');
  await page.click('#memo');
  for (let i = 0; i < 4; i++)
    await typeWithRhythm(page, 'nothing to see here ', { ...TYPIST, seed: i });
  await page.mouse.move(300, 300, { steps: 80 });
  await page.waitForTimeout(2000);

  const popup = await extensionPage(ext);
  const status = (await popup.evaluate(() =>
    chrome.runtime.sendMessage({ type: 'status' }),
  )) as ExtensionStatus;
  expect(status.enrolled).toBe(false);
  expect(status.session).toBeNull();
  expect(status.model?.modalities.keystroke.enrolWindows).toBe(0);
  expect(status.model?.modalities.pointer.enrolWindows).toBe(0);
  expect(recorder.requests).toHaveLength(0);
});
