import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import { decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import type { ExtensionStatus } from '../src/shared/protocol';
import { freeLoopbackPort, startAggregator, type RunningAggregator } from './support/aggregator';
import { login } from './support/bank';
import {
  extensionPage,
  launchWithExtension,
  typeWithRhythm,
  type LoadedExtension,
  type Typist,
} from './support/extension';
import { startRecordingProxy, startServer, type RecordingProxy } from './support/server';

// The extension's federated client against the real aggregator and verifier processes, in real
// Chromium; the training server is set by policy (as an organisation would), and a recording
// proxy in front of the aggregator proves what reaches it. The policy file is system-wide: project
// `system-policy` of playwright.config.ts runs this spec when no other test's browser runs.
const POLICY_DIR = process.env.CHROMIUM_POLICY_DIR ?? '/etc/chromium/policies/managed';
const EXTENSION_ID = 'ncmjhdbejcemcpikjidibbgbflieoobh';
const HOLDER: Typist = { holdMs: 110, gapMs: 130, jitter: 0.15, seed: 1 };
const TEXT = 'the quick brown fox jumps over the lazy dog while my rent is due on monday ';

async function status(page: Page): Promise<ExtensionStatus> {
  return page.evaluate(() => chrome.runtime.sendMessage({ type: 'status' }));
}

interface Setup {
  /** The verifier and demo bank; not started when nothing is uploaded (the aggregator asks it). */
  server: Awaited<ReturnType<typeof startServer>> | null;
  agg: RunningAggregator;
  recorder: RecordingProxy;
  policyFile: string;
  ext?: LoadedExtension;
}

async function setUp(pinned: 'aggregator' | 'rogue'): Promise<Setup> {
  const verifierKey = `e2e-fl-verifier-key-${Math.random().toString(36).slice(2)}`;
  const server =
    pinned === 'aggregator'
      ? await startServer({}, { apiKeys: [`fl:aggregator:${verifierKey}`] })
      : null;
  const port = await freeLoopbackPort();
  // The extension talks to the proxy: the aggregator's issuer is the proxy's URL.
  const recorder = await startRecordingProxy(`http://127.0.0.1:${port}`);
  const agg = await startAggregator({
    port,
    issuer: recorder.url,
    // Without a verifier: a port nothing listens on (only an upload would ask it).
    verifierUrl: server?.url ?? 'http://127.0.0.1:9',
    verifierKey,
  });
  const served = (await (await fetch(`${agg.url}/.well-known/jwks.json`)).json()) as object;
  const rogue = {
    keys: [{ ...(await exportJWK((await generateKeyPair('ES256')).publicKey)), kid: 'rogue' }],
  };
  const policyFile = join(POLICY_DIR, `tacit-e2e-fl-${process.pid}.json`);
  mkdirSync(POLICY_DIR, { recursive: true });
  writeFileSync(
    policyFile,
    JSON.stringify({
      '3rdparty': {
        extensions: {
          [EXTENSION_ID]: {
            ...(server === null
              ? {}
              : {
                  serverUrl: server.url,
                  protectedOrigins: [server.bankUrl],
                  attestationIntervalMs: 1000,
                }),
            aggregatorUrl: recorder.url,
            aggregatorJwks: pinned === 'aggregator' ? served : rogue,
          },
        },
      },
    }),
  );
  return { server, agg, recorder, policyFile };
}

async function tearDown(s: Setup): Promise<void> {
  rmSync(s.policyFile, { force: true });
  await s.ext?.close();
  await s.recorder.stop();
  await s.agg.stop();
  await s.server?.stop();
}

const paths = (r: RecordingProxy) => r.requests.map((q) => `${q.method} ${q.path}`);

test('no update without consent; with it, exactly one signed update for the open round', async () => {
  const s = await setUp('aggregator');
  try {
    const round = await s.agg.admin('POST', '/v1/admin/rounds');
    expect(round.status).toBe(201);
    s.ext = await launchWithExtension();
    const page = await s.ext.context.newPage();
    await login(page, s.server!, 'alice', HOLDER);
    await Promise.all([
      page.waitForURL('**/bank/accounts?enrolled=pending'),
      page.click('#enroll'),
    ]);
    const popup = await extensionPage(s.ext);
    await page.bringToFront();
    await expect.poll(async () => (await status(popup)).enrolled).toBe(true);
    await page.click('#to-transfer');
    await page.click('#memo');
    // A round needs stored step sequences, not a trained model: a few enrolment windows.
    await typeWithRhythm(page, TEXT, HOLDER);
    await expect
      .poll(async () => (await status(popup)).model?.modalities.keystroke.enrolWindows ?? 0)
      .toBeGreaterThan(0);

    // Consent off (the default): the model version is checked, no round asked for, nothing sent.
    await expect.poll(() => paths(s.recorder)).toContain('GET /v1/models/current');
    const options = await s.ext.context.newPage();
    await options.goto(`chrome-extension://${s.ext.extensionId}/src/options/options.html`);
    await expect(options.locator('#fl-status')).toContainText(
      'Off: no update is computed or sent.',
    );
    expect(paths(s.recorder).filter((p) => p !== 'GET /v1/models/current')).toEqual([]);

    // The user turns "Help improve the model" on: one update for the open round.
    await options.locator('#modelImprovement').check();
    await options.click('#general-save');
    await expect.poll(() => paths(s.recorder), { timeout: 60_000 }).toContain('POST /v1/updates');
    await page.waitForTimeout(2000);
    const uploads = s.recorder.requests.filter((q) => q.path === '/v1/updates');
    expect(uploads).toHaveLength(1);
    const jws = (JSON.parse(uploads[0]!.body) as { update: string }).update;
    expect(decodeProtectedHeader(jws)).toMatchObject({ alg: 'ES256', typ: 'tacit-fl-update+jws' });
    // The aggregator accepted it (the device is enrolled at the verifier, the bytes fit the round).
    const after = await s.agg.admin('GET', `/v1/admin/rounds/${round.json.round}`);
    expect(after.json.received).toBe(1);
    const state = await options.evaluate(() => chrome.storage.local.get('federated'));
    const last = (state.federated as { lastUpload: { bytes: number; ms: number } }).lastUpload;
    // The Must-show of issue 10, as measured here: one local round in the Chromium worker.
    test.info().annotations.push({
      type: 'local round',
      description: `${Math.round(last.ms)} ms, ${last.bytes} bytes (TFLU; JWS adds base64url + header)`,
    });
    expect(last.bytes).toBe(27_067);
    await options.reload();
    await expect(options.locator('#fl-status')).toContainText(
      `Last update: round ${round.json.round}`,
    );
  } finally {
    await tearDown(s);
  }
});

test('a model version whose signature does not verify against the pinned key is refused', async () => {
  const s = await setUp('rogue');
  try {
    s.ext = await launchWithExtension();
    await expect.poll(() => paths(s.recorder)).toContain('GET /v1/models/current');
    const options = await s.ext.context.newPage();
    await options.goto(`chrome-extension://${s.ext.extensionId}/src/options/options.html`);
    await expect(options.locator('#fl-status')).toContainText('ERR_MODEL_SIGNATURE');
    const state = await options.evaluate(() => chrome.storage.local.get('federated'));
    expect(state.federated).toMatchObject({
      adoptedVersion: null,
      lastError: { code: 'ERR_MODEL_SIGNATURE' },
    });
  } finally {
    await tearDown(s);
  }
});
