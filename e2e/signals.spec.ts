/**
 * The session signals (docs/protocol.md "Signals") in real Chromium with the built extension and
 * a real server: each kind of non-human input raises its own signal, as the bank reads it by
 * introspection (`tacit_signals`), and a person's recorded rhythm raises none.
 *
 * The browser runs without Chromium's automation marker (`--disable-blink-features=
 * AutomationControlled`: `navigator.webdriver` false), so that each test shows one signal by its
 * own evidence rather than all of them by the marker.
 */
import { resolve } from 'node:path';
import type { Page } from '@playwright/test';
import { loadAalto, loadSapiMouse } from '../model/cli/load-datasets';
import type { RawEvent } from '../model/events/schema';
import type { ExtensionStatus } from '../src/shared/protocol';
import { introspect, login, sessionId, type Introspection } from './support/bank';
import { configure, extensionPage, launchWithExtension, type Typist } from './support/extension';
import { expect, test as base } from './support/fixtures';

const test = base.extend({
  ext: async ({ server, recorder }, use) => {
    const ext = await launchWithExtension({
      args: ['--disable-blink-features=AutomationControlled'],
    });
    await configure(ext, {
      serverUrl: recorder.url,
      protectedOrigins: [server.bankUrl],
      attestationIntervalMs: 1000,
    });
    await use(ext);
    await ext.close();
  },
});

const DATASETS = resolve(import.meta.dirname, '../../shared/datasets');
const HOLDER: Typist = { holdMs: 110, gapMs: 130, jitter: 0.3, seed: 1 };
const NONE = { bot: 0, remote: 0, paste: 0, otp: 0, syn: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function status(page: Page): Promise<ExtensionStatus> {
  return page.evaluate(() => chrome.runtime.sendMessage({ type: 'status' }));
}

type Signals = typeof NONE;

/**
 * Logs in (a new bank session, so its signals start from nothing), enrols the device the first
 * time, and opens the transfer page: a bound session, ready to type.
 */
async function boundSession(
  page: Page,
  ext: Parameters<typeof extensionPage>[0],
  server: Parameters<typeof login>[1],
): Promise<string> {
  await login(page, server, 'alice', HOLDER);
  const popup = await extensionPage(ext);
  if (!(await status(popup)).enrolled) {
    await page.bringToFront();
    await Promise.all([
      page.waitForURL('**/bank/accounts?enrolled=pending'),
      page.click('#enroll'),
    ]);
    await expect.poll(async () => (await status(popup)).enrolled).toBe(true);
  }
  await page.bringToFront(); // a hidden tab's input is throttled and its timings distorted
  await page.click('#to-transfer');
  const sid = await sessionId(page);
  await expect.poll(async () => (await status(popup)).session?.bound).toBe(true);
  await popup.close();
  await page.click('#memo');
  expect(await page.evaluate(() => navigator.webdriver)).toBe(false);
  return sid;
}

/** Polls introspection until the session's signals satisfy `done`; returns them. */
async function signalsWhen(
  server: Parameters<typeof introspect>[0],
  sid: string,
  done: (s: Signals) => boolean,
): Promise<Signals> {
  let last: Introspection | undefined;
  await expect
    .poll(
      async () => {
        last = await introspect(server, sid);
        const s = last.tacit_signals as Signals | null;
        return s !== null && s !== undefined && done(s);
      },
      { timeout: 20_000 },
    )
    .toBe(true);
  return last!.tacit_signals as Signals;
}

/** A key to press for a recorded key class (the recordings keep classes, not keys). */
function keyFor(e: RawEvent, n: number): string {
  const cycle = (keys: string) => keys[n % keys.length]!;
  if (e.c === 'space') return 'Space';
  if (e.c === 'digit') return cycle('1234567890');
  return cycle('asdfghjklqwertyuiopzxcvbnm');
}

/** Replays recorded key and pointer events at their recorded times (from now). */
async function replay(page: Page, events: readonly RawEvent[], scale = 1): Promise<void> {
  const keys = new Map<number, string>();
  const t0 = performance.now() - events[0]!.t;
  let n = 0;
  for (const e of events) {
    const wait = t0 + e.t - performance.now();
    if (wait > 1) await sleep(wait);
    if (e.k === 'kd' && e.i !== undefined) {
      const key = keyFor(e, n++);
      keys.set(e.i, key);
      await page.keyboard.down(key);
    } else if (e.k === 'ku' && e.i !== undefined && keys.has(e.i)) {
      await page.keyboard.up(keys.get(e.i)!);
      keys.delete(e.i);
    } else if (e.k === 'pm') {
      await page.mouse.move(e.x! * scale, e.y! * scale);
    }
  }
}

test('each kind of non-human input raises its own signal; a person raises none', async ({
  ext,
  server,
}) => {
  const page = await ext.context.newPage();
  const fresh = () => boundSession(page, ext, server);

  await test.step("Playwright's own fast keyboard.type() raises the scripted-input signal", async () => {
    const sid = await fresh();
    await page.keyboard.type('the quick brown fox jumps over the lazy dog and pays the rent');
    const signals = await signalsWhen(server, sid, (s) => s.bot >= 0.5);
    console.log('type() signals', signals);
    expect(signals).toMatchObject({ remote: 0, paste: 0, otp: 0, syn: 0 });
  });

  await test.step('events a page script dispatches (isTrusted: false) are counted and raise it', async () => {
    const sid = await fresh();
    await page.evaluate(async () => {
      const memo = document.getElementById('memo')!;
      for (const key of 'transfer') {
        memo.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
        memo.dispatchEvent(new KeyboardEvent('keyup', { key, bubbles: true }));
        await new Promise((r) => setTimeout(r, 120));
      }
    });
    const signals = await signalsWhen(server, sid, (s) => s.syn >= 16);
    console.log('untrusted signals', signals);
    expect(signals).toMatchObject({ bot: 1, remote: 0, paste: 0, otp: 0, syn: 16 });
  });

  await test.step('pointer moves relayed at a remote viewer’s constant 20 Hz, in coarse jumps, raise the remote signal', async () => {
    const sid = await fresh();
    // A remote-desktop tick: every 50 ms, the pointer jumps 30–45 px along the controller's path.
    const start = performance.now();
    let x = 100;
    let dir = 1;
    for (let i = 0; i < 90; i++) {
      const wait = start + i * 50 - performance.now();
      if (wait > 1) await sleep(wait);
      x += dir * (30 + (i % 4) * 5);
      if (x > 1100 || x < 100) dir = -dir;
      await page.mouse.move(x, 300 + 60 * Math.sin(i / 6));
    }
    const signals = await signalsWhen(server, sid, (s) => s.remote >= 0.5);
    console.log('remote signals', signals);
    expect(signals).toMatchObject({ bot: 0, paste: 0, otp: 0, syn: 0 });
  });

  await test.step("a person's recorded rhythm (Aalto keys, SapiMouse pointer) raises no signal", async () => {
    // The first Aalto participant's first sentences (up to 60 presses), a second apart, and the
    // first 6 s of the first SapiMouse user's pointer, each at its recorded times.
    const typist = loadAalto(resolve(DATASETS, 'aalto-dev'), { limit: 1 })[0]!;
    const timed: RawEvent[] = [];
    let offset = 0;
    typist.sequences.slice(0, 3).forEach((seq, s) => {
      // A pause longer than 1.5 s (left out of the rhythm checks anyway) is cut to 1.5 s.
      let cut = 0;
      seq.forEach((e, j) => {
        const gap = j === 0 ? 0 : e.t - seq[j - 1]!.t;
        if (gap > 1500) cut += gap - 1500;
        timed.push({ ...e, t: e.t - cut + offset, i: (e.i ?? 0) + s * 1000 });
      });
      offset = timed.at(-1)!.t + 1000;
    });
    const keys = timed.slice(0, 120);
    // A press cut off at the end releases anyway (no key stays held).
    const open = new Set(keys.filter((e) => e.k === 'kd').map((e) => e.i));
    for (const e of keys) if (e.k === 'ku') open.delete(e.i);
    const lastT = keys.at(-1)!.t;
    for (const i of open) keys.push({ t: lastT + 90, k: 'ku', i });
    const pointer = loadSapiMouse(resolve(DATASETS, 'sapimouse-dev'))[0]!.session1min;
    const moves = pointer.filter((e) => e.k === 'pm' && e.t - pointer[0]!.t <= 6000);

    const sid = await fresh();
    await replay(page, keys);
    await replay(page, moves, 0.6);
    await page.click('#memo');
    await sleep(2500); // the last batch flushes and is attested
    const view = await introspect(server, sid);
    console.log(
      'genuine signals',
      view.tacit_signals,
      `${keys.length / 2} presses, ${moves.length} moves`,
    );
    expect(view.tacit_signals).toEqual(NONE);
  });
});
