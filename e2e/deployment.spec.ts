import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import type { ExtensionStatus } from '../src/shared/protocol';
import { startTopology, type Topology } from '../tools/deploy/topology';
import { login, sessionId } from './support/bank';
import {
  configure,
  extensionPage,
  launchWithExtension,
  typeWithRhythm,
  type LoadedExtension,
  type Typist,
} from './support/extension';
import type { RunningServer } from './support/server';

// The deployment of `npm run deploy:local` (tools/deploy/topology.ts, the same code) in real
// Chromium: the extension talks to https://tacit.example (nginx, TLS 1.3, mapped to loopback,
// its test certificate trusted by key hash), nginx balances over two instances sharing Redis,
// and the demo bank's backend goes through nginx too. Nothing of the extension or the bank
// changes for it: only the configured server URL.

const HOST = 'tacit.example';
const TYPIST: Typist = { holdMs: 90, gapMs: 100, jitter: 0.15, seed: 14 };
const TEXT = 'transfer the deposit to the landlord today ';

async function status(page: Page): Promise<ExtensionStatus> {
  return page.evaluate(() => chrome.runtime.sendMessage({ type: 'status' }));
}

/** A counter of one instance's /metrics (summed over its labels), read directly, not via nginx. */
async function counter(t: Topology, i: 0 | 1, name: string, match = ''): Promise<number> {
  const res = await fetch(`${t.instances[i].url}/metrics`, {
    headers: { authorization: `Bearer ${t.metricsToken}` },
  });
  return (await res.text())
    .split('\n')
    .filter((line) => line.startsWith(name) && line.includes(match))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

test('through nginx (TLS 1.3) over two instances on Redis: the demo bank enrolls, attestations are accepted by both instances', async () => {
  test.setTimeout(120_000);
  const t = await startTopology({ ports: 'free', publicHost: HOST });
  let ext: LoadedExtension | undefined;
  try {
    ext = await launchWithExtension({
      args: [
        `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
        `--ignore-certificate-errors-spki-list=${t.cert.spkiSha256}`,
      ],
    });
    await configure(ext, {
      serverUrl: t.url,
      protectedOrigins: [t.bankUrl],
      attestationIntervalMs: 1000,
    });
    // The bank helpers need the bank's origin only.
    const bank = { bankUrl: t.bankUrl, url: t.url, bankKey: t.bankKey } as RunningServer;

    const page = await ext.context.newPage();
    await login(page, bank, 'dave', TYPIST);
    await Promise.all([
      page.waitForURL('**/bank/accounts?enrolled=pending'),
      page.click('#enroll'),
    ]);
    const popup = await extensionPage(ext);
    await page.bringToFront();
    await expect.poll(async () => (await status(popup)).enrolled).toBe(true);
    await page.click('#to-transfer');
    await sessionId(page);
    await expect.poll(async () => (await status(popup)).session?.bound).toBe(true);

    // Type until each instance has accepted attestations (nginx balances per request).
    const accepted = async () =>
      Promise.all(([0, 1] as const).map((i) => counter(t, i, 'tacit_attestations_accepted_total')));
    await page.click('#memo');
    for (let round = 0; round < 6; round++) {
      const [a, b] = await accepted();
      if (a! > 0 && b! > 0) break;
      await typeWithRhythm(page, TEXT, { ...TYPIST, seed: 20 + round });
    }
    await expect
      .poll(async () => (await accepted()).every((n) => n > 0), { timeout: 20_000 })
      .toBe(true);
    const [a, b] = await accepted();
    console.log(`attestations accepted: ${t.instances[0].name} ${a}, ${t.instances[1].name} ${b}`);

    // Both instances also answered the extension's and the bank's other calls, and no request
    // was answered with a server error.
    for (const i of [0, 1] as const) {
      expect(await counter(t, i, 'tacit_http_requests_total', 'status="5')).toBe(0);
      expect(await counter(t, i, 'tacit_http_requests_total')).toBeGreaterThan(0);
    }
    // nginx's own record: the extension's attestations arrived over TLS 1.3 and went to both.
    const log = readFileSync(join(t.dir, 'nginx', 'access.log'), 'utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as { uri: string; tls: string; upstream: string });
    const attestations = log.filter((r) => r.uri === '/v1/attestations');
    expect(attestations.length).toBeGreaterThan(1);
    expect(new Set(attestations.map((r) => r.tls))).toEqual(new Set(['TLSv1.3']));
    expect(new Set(attestations.map((r) => r.upstream))).toEqual(
      new Set(t.instances.map((i) => `127.0.0.1:${i.port}`)),
    );
  } finally {
    await ext?.close();
    await t.stop();
  }
});
