// Options page: consent, protected sites (with their host permission), server, retention,
// model-improvement participation, and the data section. Settings the organisation's policy
// fixes are shown, marked as managed and locked.
import browser from 'webextension-polyfill';
import {
  loadConfigSources,
  matchPatternOf,
  normaliseOrigin,
  saveUserConfig,
  type ConfigSources,
  type TacitConfig,
} from '../shared/config';
import { loadConsent, recordConsent, withdrawConsent } from '../shared/consent';
import {
  FEDERATED_STATE_KEY,
  federatedStatusText,
  type FederatedState,
} from '../shared/federated-state';
import { mountDataSection } from './data-section';

const el = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const LABELS: Record<keyof TacitConfig, string> = {
  serverUrl: 'verification server',
  protectedOrigins: 'protected sites',
  attestationIntervalMs: 'statement interval',
  retentionDays: 'retention',
  organisationConsent: 'consent',
  modelImprovement: 'model improvement',
  aggregatorUrl: 'training server',
  aggregatorJwks: 'training server key',
};

let sources: ConfigSources;

async function renderConsent(): Promise<void> {
  const consent = await loadConsent(sources.config);
  const state = el('consent-state');
  const toggle = el<HTMLButtonElement>('consent-toggle');
  if (consent.by === 'organisation') {
    state.textContent =
      'Your organisation gave consent for this managed browser: Tacit is active on the sites below.';
    toggle.hidden = true;
  } else if (consent.given) {
    state.textContent = `You agreed on ${new Date(consent.givenAt).toLocaleDateString()}: Tacit is active on the sites below.`;
    toggle.hidden = false;
    toggle.textContent = 'Withdraw consent and stop';
  } else {
    state.textContent = 'Tacit is off: it records nothing until you agree.';
    toggle.hidden = false;
    toggle.textContent = 'Agree and start';
  }
  toggle.dataset.given = String(consent.given);
}

async function renderSites(): Promise<void> {
  const list = el<HTMLUListElement>('sites');
  const locked = sources.managed.includes('protectedOrigins');
  list.replaceChildren();
  for (const origin of sources.config.protectedOrigins) {
    const item = document.createElement('li');
    const name = Object.assign(document.createElement('span'), {
      className: 'origin',
      textContent: origin,
    });
    const granted = await browser.permissions.contains({ origins: [matchPatternOf(origin)] });
    const badge = Object.assign(document.createElement('span'), {
      className: granted ? 'badge' : 'badge warn',
      textContent: `${locked ? 'Set by your organisation · ' : ''}${granted ? 'Active' : 'Access not granted'}`,
    });
    item.append(name, badge);
    // Access to a site the organisation lists is still the browser's to grant (one click).
    if (!granted) {
      const grant = Object.assign(document.createElement('button'), {
        type: 'button',
        textContent: 'Allow access',
      });
      grant.setAttribute('aria-label', `Allow access to ${origin}`);
      grant.addEventListener('click', () => {
        // Must be called in the click itself: browsers only prompt during a user gesture.
        void browser.permissions
          .request({ origins: [matchPatternOf(origin)] })
          .then(() => refresh());
      });
      item.append(grant);
    }
    if (!locked) {
      const remove = Object.assign(document.createElement('button'), {
        type: 'button',
        textContent: 'Remove',
      });
      remove.setAttribute('aria-label', `Remove ${origin}`);
      remove.addEventListener('click', () => void removeSite(origin));
      item.append(remove);
    }
    list.append(item);
  }
  if (sources.config.protectedOrigins.length === 0) {
    list.append(Object.assign(document.createElement('li'), { textContent: 'No site yet.' }));
  }
  for (const control of el<HTMLFormElement>('add-site').elements)
    (control as HTMLInputElement).disabled = locked;
}

function renderGeneral(): void {
  const { config, managed } = sources;
  const fields: [keyof TacitConfig, HTMLInputElement][] = [
    ['serverUrl', el('serverUrl')],
    ['retentionDays', el('retentionDays')],
    ['modelImprovement', el('modelImprovement')],
  ];
  el<HTMLInputElement>('serverUrl').value = config.serverUrl;
  el<HTMLInputElement>('retentionDays').value = String(config.retentionDays);
  el<HTMLInputElement>('modelImprovement').checked = config.modelImprovement;
  for (const [key, input] of fields) {
    input.disabled = managed.includes(key);
    if (input.disabled) input.title = 'Set by your organisation';
  }
  el<HTMLButtonElement>('general-save').disabled = fields.every(([, input]) => input.disabled);
  const managedNames = managed.map((key) => LABELS[key]);
  el('managed').hidden = managedNames.length === 0;
  el('managed-list').textContent = managedNames.join(', ');
}

async function renderFederated(): Promise<void> {
  const stored = await browser.storage.local.get(FEDERATED_STATE_KEY);
  el('fl-status').textContent = federatedStatusText(
    sources.config,
    stored[FEDERATED_STATE_KEY] as FederatedState | undefined,
  );
}

async function refresh(): Promise<void> {
  sources = await loadConfigSources();
  renderGeneral();
  await renderFederated();
  await renderConsent();
  await renderSites();
}

async function removeSite(origin: string): Promise<void> {
  const remaining = sources.config.protectedOrigins.filter((o) => o !== origin);
  await saveUserConfig({ protectedOrigins: remaining });
  const pattern = matchPatternOf(origin);
  // The host's permission goes too, unless another protected origin on the same host needs it
  // or it is one the extension always holds (the demo bank on localhost: removal is refused).
  if (!remaining.some((o) => matchPatternOf(o) === pattern)) {
    await browser.permissions.remove({ origins: [pattern] }).catch(() => false);
  }
  el('sites-status').textContent = `${origin} removed: Tacit records nothing there any more.`;
  await refresh();
}

el<HTMLFormElement>('add-site').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = el<HTMLInputElement>('new-site');
  const status = el('sites-status');
  let origin: string;
  try {
    origin = normaliseOrigin(input.value.trim());
  } catch {
    status.textContent =
      'That is not a web address. Use the bank’s address, such as https://bank.example.';
    return;
  }
  // Requested before any await: the browser prompts only within the user's gesture.
  void browser.permissions
    .request({ origins: [matchPatternOf(origin)] })
    .then(async (granted) => {
      if (!granted) {
        status.textContent = `Access to ${origin} was not allowed, so Tacit cannot protect it.`;
        return;
      }
      const origins = [...new Set([...sources.config.protectedOrigins, origin])];
      await saveUserConfig({ protectedOrigins: origins });
      input.value = '';
      status.textContent = `${origin} added: Tacit protects it from the next page load.`;
      await refresh();
    })
    .catch(() => {
      status.textContent = 'The site could not be added. Try again.';
    });
});

el<HTMLFormElement>('general').addEventListener('submit', (event) => {
  event.preventDefault();
  const saved = el('saved');
  const patch: Partial<TacitConfig> = {};
  if (!sources.managed.includes('serverUrl'))
    patch.serverUrl = el<HTMLInputElement>('serverUrl').value.trim();
  if (!sources.managed.includes('retentionDays'))
    patch.retentionDays = Number(el<HTMLInputElement>('retentionDays').value);
  if (!sources.managed.includes('modelImprovement'))
    patch.modelImprovement = el<HTMLInputElement>('modelImprovement').checked;
  saveUserConfig(patch)
    .then(async () => {
      saved.textContent = 'Saved.';
      await refresh();
    })
    .catch(() => {
      saved.textContent =
        'Not saved: use a full address such as https://tacit.bank.example and 1 to 3650 days.';
    });
});

el<HTMLButtonElement>('consent-toggle').addEventListener('click', () => {
  const given = el('consent-toggle').dataset.given === 'true';
  void (given ? withdrawConsent() : recordConsent(Date.now())).then(renderConsent);
});

mountDataSection(el('data-section'));
void refresh();
