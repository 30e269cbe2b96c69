import browser from 'webextension-polyfill';
import { sendFromPage } from '../shared/messaging';

function set(id: string, text: string): void {
  const element = document.getElementById(id);
  if (element) element.textContent = text;
}

async function render(): Promise<void> {
  const status = await sendFromPage({ type: 'status' });
  set('device', status.enrolled ? `enrolled (${status.deviceId?.slice(0, 8)}…)` : 'not enrolled');
  const model = status.model;
  set(
    'model',
    !model
      ? 'starting'
      : model.state === 'enrolling'
        ? `learning your rhythm: ${Math.round(model.progress * 100)} %`
        : `active (${model.modelVersion}, ${model.backend})`,
  );
  set('confidence', status.lastConfidence === null ? '—' : status.lastConfidence.toFixed(2));
  set('session', status.session ? `${status.session.bound ? 'bound' : 'not bound'}, ${status.session.seq} attestations` : 'none');
  set('server', status.serverUrl);
  const error = document.getElementById('error');
  if (error && status.lastError) {
    error.hidden = false;
    error.textContent = `Last problem: ${status.lastError}`;
  }
}

/** The server's own view of the current tab's session (its live, decayed assurance). */
async function renderServerAssurance(): Promise<void> {
  const [tab] = await browser.tabs.query({ active: true, currentWindow: true });
  if (tab?.id === undefined) {
    set('server-assurance', '—');
    return;
  }
  const reply = await sendFromPage({ type: 'session-assurance', tabId: tab.id });
  if (reply.error) {
    set('server-assurance', `unavailable (${reply.error})`);
  } else if (!reply.session) {
    set('server-assurance', 'no session on this page');
  } else {
    const { status, assurance, level } = reply.session;
    const value = assurance === null ? level : `${assurance.toFixed(2)} (${level})`;
    set('server-assurance', status === 'active' ? value : `${value}, session ${status}`);
  }
}

document.getElementById('open-options')?.addEventListener('click', (event) => {
  event.preventDefault();
  void browser.runtime.openOptionsPage();
});
render().catch(() => set('model', 'unavailable'));
renderServerAssurance().catch(() => set('server-assurance', 'unavailable'));
