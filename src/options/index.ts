import browser from 'webextension-polyfill';
import { loadConfig, parseConfig } from '../shared/config';
import { sendFromPage } from '../shared/messaging';

const form = document.getElementById('form') as HTMLFormElement;
const server = document.getElementById('serverUrl') as HTMLInputElement;
const origins = document.getElementById('protectedOrigins') as HTMLTextAreaElement;
const saved = document.getElementById('saved') as HTMLSpanElement;
const forget = document.getElementById('forget-device') as HTMLButtonElement;
const forgotten = document.getElementById('forgotten') as HTMLSpanElement;

async function load(): Promise<void> {
  const config = await loadConfig();
  server.value = config.serverUrl;
  origins.value = config.protectedOrigins.join('\n');
  const managed = await browser.storage.managed.get(null).catch(() => ({}));
  if (Object.keys(managed).length > 0) {
    (document.getElementById('managed') as HTMLElement).hidden = false;
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  try {
    const config = parseConfig({
      serverUrl: server.value.trim(),
      protectedOrigins: origins.value.split('\n').map((s) => s.trim()).filter(Boolean),
    });
    void browser.storage.local.get('config').then(({ config: previous }) =>
      browser.storage.local.set({ config: { ...(previous as object | undefined), ...config } }),
    );
    saved.textContent = 'Saved.';
  } catch {
    saved.textContent = 'Invalid value: use full origins such as https://bank.example';
  }
});
// Two clicks instead of confirm(): dialogs may not show in an embedded options page.
let armed = false;
forget.addEventListener('click', () => {
  if (!armed) {
    armed = true;
    forget.textContent = 'Click again to forget this device';
    return;
  }
  armed = false;
  forget.disabled = true;
  forget.textContent = 'Forget this device';
  forgotten.textContent = 'Forgetting…';
  void sendFromPage({ type: 'forget-device' })
    .then((reply) => {
      forgotten.textContent = reply.ok
        ? 'This device is forgotten.'
        : `Could not forget this device (${reply.error ?? 'unknown'}): nothing was deleted, ` +
          'try again.';
    })
    .catch(() => {
      forgotten.textContent = 'Something went wrong: nothing was deleted, try again.';
    })
    .finally(() => {
      forget.disabled = false;
    });
});
void load();
