// Demo bank: refreshes the assurance panel once a second from GET /bank/api/assurance.
// Loaded as a static file because the page's CSP (default-src 'self') forbids inline scripts.
'use strict';

(() => {
  const byId = (id) => document.getElementById(id);
  const panel = byId('assurance-panel');
  if (!panel) return;

  const setText = (id, text) => {
    const el = byId(id);
    if (el && el.textContent !== text) el.textContent = text;
  };

  // Once the page is being left (a link, logout, a typed address), a poll answered 401 (the
  // logout just ended the login) must not start a navigation of its own over that one.
  let leaving = false;
  window.addEventListener('beforeunload', () => {
    leaving = true;
  });

  let inFlight = false;
  async function refresh() {
    // One request at a time: a slow answer must not pile up behind the timer.
    if (inFlight || leaving) return;
    inFlight = true;
    try {
      const res = await fetch('/bank/api/assurance', {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { accept: 'application/json' },
      });
      if (res.status === 401) {
        if (!leaving) window.location.assign('/bank/login');
        return;
      }
      if (!res.ok) return;
      const s = await res.json();
      setText('assurance', typeof s.assurance === 'number' ? s.assurance.toFixed(2) : '—');
      setText('assurance-level', String(s.level));
      setText('attestation-count', String(s.attestations));
      setText('device-status', s.deviceEnrolled ? 'enrolled' : 'not enrolled');
      panel.dataset.level = String(s.level);
      // Enrolment progress, as the device reports it in its statements.
      const progress = byId('enrolment-progress');
      if (progress) {
        progress.hidden = typeof s.progress !== 'number';
        if (typeof s.progress === 'number') {
          const pct = Math.round(s.progress * 100);
          setText('enrolment-value', `${pct} %`);
          byId('enrolment-bar').value = pct;
        }
      }
      // Once the extension has used the code, the code and the button have done their job.
      if (s.deviceEnrolled) {
        const pending = byId('enrollment-pending');
        if (pending) pending.hidden = true;
        const form = byId('enroll-form');
        if (form) form.hidden = true;
        const note = byId('enrolled-note');
        if (note) note.hidden = false;
      }
    } catch {
      // Offline or server restarting: keep the last values and try again next tick.
    } finally {
      inFlight = false;
    }
  }

  void refresh();
  setInterval(refresh, 1000);
})();

// Demo bank: the Shared Signals events the verifier pushed about this session, refreshed
// from GET /bank/api/security-events (newest first).
(() => {
  const list = document.getElementById('security-events');
  if (!list) return;
  let inFlight = false;
  async function refresh() {
    if (inFlight) return;
    inFlight = true;
    try {
      const res = await fetch('/bank/api/security-events', {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { accept: 'application/json' },
      });
      if (!res.ok) return;
      const { events } = await res.json();
      const items = events.map((e) => {
        const li = document.createElement('li');
        li.dataset.type = String(e.type);
        const name = document.createElement('strong');
        name.textContent = String(e.type);
        const summary = document.createElement('span');
        summary.textContent = ` ${String(e.summary)}`;
        li.append(name, summary);
        return li;
      });
      list.replaceChildren(...items);
    } catch {
      // Offline or restarting: keep what is shown.
    } finally {
      inFlight = false;
    }
  }
  setInterval(refresh, 1000);
})();

// Demo bank: passkeys (WebAuthn). Registration from the accounts page; the step-up's assertion
// from the step-up page. The bank's backend verifies both (server/demo-bank/passkeys.ts); the
// options and answers cross as JSON (PublicKeyCredential.parse…FromJSON, toJSON).
(() => {
  const byId = (id) => document.getElementById(id);
  const showError = (id, text) => {
    const el = byId(id);
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
  };

  const register = byId('register-passkey');
  if (register) {
    register.addEventListener('click', async () => {
      register.disabled = true;
      try {
        const res = await fetch('/bank/api/passkeys/options', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { accept: 'application/json' },
        });
        if (!res.ok) throw new Error('options');
        const options = window.PublicKeyCredential.parseCreationOptionsFromJSON(await res.json());
        const credential = await navigator.credentials.create({ publicKey: options });
        const done = await fetch('/bank/api/passkeys', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(credential.toJSON()),
        });
        if (!done.ok) throw new Error('register');
        const status = byId('passkey-status');
        if (status) status.textContent = 'registered';
        register.hidden = true;
      } catch {
        showError('passkey-error', 'The passkey could not be created. Please try again.');
        register.disabled = false;
      }
    });
  }

  const confirm = byId('webauthn-confirm');
  if (confirm) {
    confirm.addEventListener('click', async () => {
      confirm.disabled = true;
      try {
        const options = window.PublicKeyCredential.parseRequestOptionsFromJSON(
          JSON.parse(confirm.dataset.options),
        );
        const credential = await navigator.credentials.get({ publicKey: options });
        byId('webauthn-response').value = JSON.stringify(credential.toJSON());
        byId('step-up-form').submit();
      } catch {
        showError('webauthn-error', 'Your passkey did not confirm the transfer.');
        confirm.disabled = false;
      }
    });
  }
})();
