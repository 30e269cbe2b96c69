// First-run page: says in plain words what is captured, kept and sent, and asks before anything
// is captured. Agreeing writes the consent record; the background then registers capture.
import browser from 'webextension-polyfill';
import { loadConfig } from '../shared/config';
import { loadConsent, recordConsent } from '../shared/consent';

const el = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

async function render(): Promise<void> {
  const config = await loadConfig();
  const consent = await loadConsent(config);
  el('sites').textContent = config.protectedOrigins.length
    ? config.protectedOrigins.join(', ')
    : 'the sites you add in the settings';
  el('server').textContent = config.serverUrl;
  el('retention').textContent = String(config.retentionDays);
  el('organisation').hidden = consent.by !== 'organisation';
  el('actions').hidden = consent.given;
  if (consent.by === 'user') {
    el('status').textContent =
      'Thank you: Tacit is on. It starts learning once your bank has enrolled this device. You can close this tab.';
  }
}

el<HTMLButtonElement>('agree').addEventListener('click', () => {
  void recordConsent(Date.now()).then(render);
});
el<HTMLButtonElement>('decline').addEventListener('click', () => {
  el('status').textContent =
    'Tacit stays off and records nothing. You can agree later from its settings.';
});
el<HTMLAnchorElement>('settings-link').addEventListener('click', (event) => {
  event.preventDefault();
  void browser.runtime.openOptionsPage();
});
void render();
