// Service worker (Chrome) / event page (Firefox) entry: wiring only.
import browser from 'webextension-polyfill';
import captureScript from '../content/index.ts?script&iife';
import { loadConfig, loadPausedOrigins, setOriginPaused } from '../shared/config';
import { CONSENT_KEY, loadConsent } from '../shared/consent';
import { logError } from '../shared/errors';
import { syncCaptureRegistration } from './capture-registration';
import { DataControl } from './data-control';
import { deviceSigningKey } from './device-key';
import { FEDERATED_ALARM, FEDERATED_PERIOD_MINUTES, federatedCheck } from './federated';
import {
  EMPTY_FEDERATED_STATE,
  FEDERATED_STATE_KEY,
  type FederatedState,
} from '../shared/federated-state';
import { createListener } from './handlers';
import { attestationHistory, pruneAttestations } from './history';
import { modelHost } from './model-host';
import { SessionService } from './session';

/** The first-run page (a build input of its own: the manifest does not name it). */
const CONSENT_PAGE = 'src/consent/consent.html';

const sessions = new SessionService(loadConfig, Date.now, (sid, learn) =>
  modelHost().confirmSession(sid, learn),
);
const data = new DataControl({
  config: loadConfig,
  host: modelHost,
  sessions,
  history: { list: attestationHistory, prune: pruneAttestations },
  clearStorage: async () => {
    await browser.storage.local.clear();
    await browser.storage.session.clear();
  },
  lastRetentionRun: {
    get: async () =>
      ((await browser.storage.session.get('retentionRunAt')).retentionRunAt as
        number | undefined) ?? null,
    set: (at) => browser.storage.session.set({ retentionRunAt: at }),
  },
  extensionVersion: browser.runtime.getManifest().version,
});

browser.runtime.onMessage.addListener(
  createListener({
    config: loadConfig,
    consent: loadConsent,
    host: modelHost,
    sessions,
    data,
    history: attestationHistory,
    pausedOrigins: loadPausedOrigins,
    setOriginPaused,
    storageSession: browser.storage.session,
    extensionId: browser.runtime.id,
    extensionOrigin: browser.runtime.getURL(''),
  }),
);

// Where the content script runs follows the protected sites, their permissions and consent.
// Syncs are serialised: two overlapping ones would register the same script id twice.
let syncing: Promise<unknown> = Promise.resolve();
function resyncCapture(): void {
  syncing = syncing
    .then(async () => {
      const config = await loadConfig();
      const given = (await loadConsent(config)).given;
      await syncCaptureRegistration(
        {
          getRegisteredContentScripts: (filter) =>
            browser.scripting.getRegisteredContentScripts(filter),
          registerContentScripts: (scripts) => browser.scripting.registerContentScripts(scripts),
          unregisterContentScripts: (filter) => browser.scripting.unregisterContentScripts(filter),
          hasHostPermission: (pattern) => browser.permissions.contains({ origins: [pattern] }),
        },
        { origins: config.protectedOrigins, consent: given },
        captureScript,
      );
    })
    .catch((error: unknown) => logError('capture registration', error));
}
resyncCapture();
browser.permissions.onAdded.addListener(resyncCapture);
browser.permissions.onRemoved.addListener(resyncCapture);
// Federated training (docs/federated.md "In the extension"): a check at start, on every change
// of settings, and hourly. Checks are serialised: one round is never computed twice at once.
let checking: Promise<unknown> = Promise.resolve();
function federated(): void {
  checking = checking
    .then(() =>
      federatedCheck({
        config: loadConfig,
        host: modelHost,
        signingKey: deviceSigningKey,
        state: {
          get: async () =>
            ((await browser.storage.local.get(FEDERATED_STATE_KEY))[FEDERATED_STATE_KEY] as
              FederatedState | undefined) ?? EMPTY_FEDERATED_STATE,
          set: (state) => browser.storage.local.set({ [FEDERATED_STATE_KEY]: state }),
        },
      }),
    )
    .catch((error: unknown) => logError('federated check', error));
}
void browser.alarms.create(FEDERATED_ALARM, { periodInMinutes: FEDERATED_PERIOD_MINUTES });
browser.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === FEDERATED_ALARM) federated();
});
federated();

browser.storage.onChanged.addListener((changes, area) => {
  if (area === 'managed' || (area === 'local' && ('config' in changes || CONSENT_KEY in changes)))
    resyncCapture();
  if (area === 'managed' || (area === 'local' && 'config' in changes)) federated();
});

// First run: ask for consent before anything is captured (not when the organisation recorded it).
browser.runtime.onInstalled.addListener(({ reason }) => {
  if (reason !== 'install') return;
  void loadConfig()
    .then(loadConsent)
    .then(async (state) => {
      if (!state.given) await browser.tabs.create({ url: browser.runtime.getURL(CONSENT_PAGE) });
    });
});
