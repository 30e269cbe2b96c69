/**
 * Memory of the model's host after a long typing session on the demo bank (enrolled, then
 * scored), sampled every minute: the whole extension renderer process — service worker,
 * offscreen document and model worker share it — as PSS and RSS from /proc, and the offscreen
 * document's JS heap over CDP. Chromium answers no CDP command sent to a dedicated worker through
 * a non-flat session, so the worker's own heap is not read apart: the process figure is the one
 * held against the goal (offscreen + worker ≤ 60 MB), an upper bound since it includes the service
 * worker and the blank extension page the CDP session needs.
 */
import type { CDPSession, Page } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { login } from '../support/bank';
import {
  configure,
  extensionPage,
  launchWithExtension,
  moveWithRhythm,
  typeWithRhythm,
  type Typist,
} from '../support/extension';
import { startServer } from '../support/server';
import { printTable, round } from './report';

export const MEMORY_GOAL_BYTES = 60 * 1024 * 1024;
const TYPIST: Typist = { holdMs: 100, gapMs: 120, jitter: 0.15, seed: 5 };
const TEXT =
  'the quick brown fox jumps over the lazy dog while my rent is due on monday so pay it now ';
const MB = 1024 * 1024;

export interface MemorySample {
  atS: number;
  /** JS heap used + ArrayBuffer backing stores of the offscreen document. */
  offscreenHeapBytes: number;
  extensionProcessPssBytes: number | null;
  extensionProcessRssBytes: number | null;
}

export interface MemoryBenchResult {
  bench: 'memory';
  date: string;
  seconds: number;
  keyPresses: number;
  modelState: string | null;
  attestations: number;
  samples: MemorySample[];
  final: MemorySample;
  /** Extension process PSS before any bank page (service worker + probe page, no offscreen). */
  baselinePssBytes: number | null;
  /** final PSS − baseline: what the offscreen document and the worker add. */
  offscreenPlusWorkerEstimateBytes: number | null;
  goalBytes: number;
  ratioToGoal: number;
}

/** Sends one CDP command to another target through the page's session (non-flat attach). */
async function targetCall<T>(cdp: CDPSession, sessionId: string, method: string): Promise<T> {
  const id = Math.floor(Math.random() * 1e9);
  return new Promise<T>((resolve, reject) => {
    const onMessage = (event: { sessionId: string; message: string }) => {
      const reply = JSON.parse(event.message) as {
        id?: number;
        result?: T;
        error?: { message: string };
      };
      if (event.sessionId !== sessionId || reply.id !== id) return;
      cdp.off('Target.receivedMessageFromTarget' as never, onMessage as never);
      if (reply.error) reject(new Error(reply.error.message));
      else resolve(reply.result!);
    };
    cdp.on('Target.receivedMessageFromTarget' as never, onMessage as never);
    setTimeout(() => reject(new Error(`${method}: no answer from the target`)), 15_000);
    void cdp.send(
      'Target.sendMessageToTarget' as never,
      { sessionId, message: JSON.stringify({ id, method }) } as never,
    );
  });
}

interface HeapUsage {
  usedSize: number;
  backingStorageSize?: number;
}

async function heapOf(
  cdp: CDPSession,
  predicate: (t: { type: string; url: string }) => boolean,
): Promise<HeapUsage> {
  const { targetInfos } = (await cdp.send('Target.getTargets' as never)) as {
    targetInfos: { targetId: string; type: string; url: string }[];
  };
  const target = targetInfos.find(predicate);
  if (!target)
    throw new Error(
      `target not found among ${targetInfos.map((t) => `${t.type} ${t.url}`).join(', ')}`,
    );
  const { sessionId } = (await cdp.send(
    'Target.attachToTarget' as never,
    { targetId: target.targetId, flatten: false } as never,
  )) as { sessionId: string };
  try {
    // Without a forced GC (HeapProfiler.collectGarbage gets no answer over this session): the
    // figure includes garbage not yet collected, so it errs high.
    return await targetCall<HeapUsage>(cdp, sessionId, 'Runtime.getHeapUsage');
  } finally {
    await cdp.send('Target.detachFromTarget' as never, { sessionId } as never);
  }
}

/** PSS/RSS of the extension renderer process of the browser whose profile is `profile`. */
function extensionProcessMemory(profile: string): { pss: number; rss: number } | null {
  const procs = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const info = new Map<number, { ppid: number; args: string }>();
  for (const pid of procs) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      info.set(Number(pid), {
        ppid,
        args: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '),
      });
    } catch {
      // exited meanwhile
    }
  }
  const browser = [...info].find(
    ([, p]) => p.args.includes(`--user-data-dir=${profile}`) && !p.args.includes('--type='),
  );
  if (!browser) return null;
  const descends = (pid: number): boolean => {
    for (let p = info.get(pid); p; p = info.get(p.ppid)) if (p.ppid === browser[0]) return true;
    return false;
  };
  const ext = [...info].find(([pid, p]) => p.args.includes('--extension-process') && descends(pid));
  if (!ext) return null;
  const rollup = readFileSync(`/proc/${ext[0]}/smaps_rollup`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? NaN) * 1024;
  return { pss: kb('Pss'), rss: kb('Rss') };
}

async function sample(cdp: CDPSession, profile: string, startedAt: number): Promise<MemorySample> {
  const offscreen = await heapOf(cdp, (t) => t.url.includes('/offscreen/offscreen.html'));
  const proc = extensionProcessMemory(profile);
  return {
    atS: Math.round((Date.now() - startedAt) / 1000),
    offscreenHeapBytes: offscreen.usedSize + (offscreen.backingStorageSize ?? 0),
    extensionProcessPssBytes: proc?.pss ?? null,
    extensionProcessRssBytes: proc?.rss ?? null,
  };
}

export async function runMemoryBench(
  options: { seconds?: number } = {},
): Promise<MemoryBenchResult> {
  const seconds = options.seconds ?? 600;
  const server = await startServer();
  const ext = await launchWithExtension();
  try {
    await configure(ext, {
      serverUrl: server.url,
      protectedOrigins: [server.bankUrl],
      attestationIntervalMs: 5000,
    });
    // CDP from an extension-origin page (a bank page's session gets no answers from the
    // extension's targets); an image, so it adds next to nothing to the extension process.
    const probe = await ext.context.newPage();
    await probe.goto(`chrome-extension://${ext.extensionId}/src/assets/icon-128.png`);
    await probe.waitForTimeout(2000);
    // Before any bank page: the service worker and the probe page, no offscreen document yet.
    const baseline = extensionProcessMemory(ext.profile);
    const page: Page = await ext.context.newPage();
    await login(page, server, 'memo', TYPIST);
    await Promise.all([
      page.waitForURL('**/bank/accounts?enrolled=pending'),
      page.click('#enroll'),
    ]);
    for (
      let tries = 0;
      !(await ext.serviceWorker.evaluate(
        async () => (await chrome.storage.local.get('device')).device !== undefined,
      ));
      tries++
    ) {
      if (tries > 60) throw new Error('the device did not enrol');
      await page.waitForTimeout(500);
    }
    await page.click('#to-transfer');
    await page.waitForTimeout(1500);
    const cdp = await ext.context.newCDPSession(probe);
    await page.bringToFront();
    // Measure a learning session: wait until the bank has vouched for it (enrolled, bound).
    for (let tries = 0; ; tries++) {
      const learning = await probe.evaluate(async () => {
        const tabs = await chrome.tabs.query({});
        const tab = tabs.find((t) => t.url?.includes('/bank/transfer'));
        const status = await chrome.runtime.sendMessage({
          type: 'tab-status',
          tabId: tab?.id ?? -1,
        });
        return {
          ok: (status as { session?: { learning?: boolean } | null }).session?.learning === true,
          status,
          urls: tabs.map((t) => t.url),
        };
      });
      if (learning.ok) break;
      if (tries > 60)
        throw new Error(
          `the session was never bound: nothing would be learned ${JSON.stringify(learning)}`,
        );
      await page.waitForTimeout(500);
    }
    const startedAt = Date.now();
    console.log(`memory: enrolled, typing for ${seconds} s`);
    const samples: MemorySample[] = [];
    let keyPresses = 0;
    let nextSample = startedAt + 60_000;
    for (let round = 0; Date.now() - startedAt < seconds * 1000; round++) {
      await page.click('#memo');
      await page.fill('#memo', ''); // the field stays small; what matters is the extension's side
      await typeWithRhythm(page, TEXT, { ...TYPIST, seed: 100 + round });
      keyPresses += TEXT.length;
      await moveWithRhythm(page, 3, { stepPx: 14, stepMs: 16, seed: 200 + round });
      if (Date.now() >= nextSample) {
        samples.push(await sample(cdp, ext.profile, startedAt));
        console.log(
          `memory at ${samples.at(-1)!.atS} s: extension process PSS ${((samples.at(-1)!.extensionProcessPssBytes ?? NaN) / MB).toFixed(1)} MB`,
        );
        nextSample += 60_000;
      }
    }
    await page.waitForTimeout(2000);
    const final = await sample(cdp, ext.profile, startedAt);
    // Read after the sample: an extension page adds to the process being measured.
    const extPage = await extensionPage(ext);
    const { attestations, modelState } = await extPage.evaluate(async () => ({
      attestations: (
        ((await chrome.storage.local.get('attestations')).attestations as unknown[] | undefined) ??
        []
      ).length,
      modelState:
        (
          (await chrome.storage.session.get('lastUpdate')).lastUpdate as
            { state?: string } | undefined
        )?.state ?? null,
    }));
    return {
      bench: 'memory',
      date: new Date().toISOString(),
      seconds,
      keyPresses,
      modelState,
      attestations,
      samples,
      final,
      baselinePssBytes: baseline?.pss ?? null,
      offscreenPlusWorkerEstimateBytes:
        baseline === null || final.extensionProcessPssBytes === null
          ? null
          : final.extensionProcessPssBytes - baseline.pss,
      goalBytes: MEMORY_GOAL_BYTES,
      ratioToGoal: round((final.extensionProcessPssBytes ?? NaN) / MEMORY_GOAL_BYTES),
    };
  } finally {
    await ext.close();
    await server.stop();
  }
}

export function printMemory(r: MemoryBenchResult): void {
  const mb = (b: number | null) => (b === null ? '—' : `${(b / MB).toFixed(1)} MB`);
  printTable(
    `memory after ${r.seconds} s of typing and pointer movement (${r.keyPresses} key presses, model ${r.modelState}, ${r.attestations} statements); goal offscreen + worker ≤ ${mb(r.goalBytes)} (held against the whole extension process)`,
    ['at s', 'extension process PSS', 'RSS', 'offscreen JS heap'],
    [...r.samples, r.final].map((s) => [
      s.atS,
      mb(s.extensionProcessPssBytes),
      mb(s.extensionProcessRssBytes),
      mb(s.offscreenHeapBytes),
    ]),
  );
  console.log(
    `extension process PSS ÷ goal: ${r.ratioToGoal}; before any bank page ${mb(r.baselinePssBytes)}, so offscreen + worker ≈ ${mb(r.offscreenPlusWorkerEstimateBytes)}`,
  );
}
