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

document.getElementById('open-options')?.addEventListener('click', (event) => {
  event.preventDefault();
  void browser.runtime.openOptionsPage();
});
render().catch(() => set('model', 'unavailable'));
