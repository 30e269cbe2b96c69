/**
 * The options page's data section: forget this device, export what Tacit keeps, delete
 * everything. Appended to a mount point the options page provides (with its heading); the page
 * calls `mountDataSection` once.
 */
import { describeError } from '../shared/error-text';
import { sendFromPage } from '../shared/messaging';
import type { ExportDocument } from '../shared/protocol';

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** Offers the export as a file named by date. */
function download(document_: ExportDocument): void {
  const blob = new Blob([JSON.stringify(document_, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = element('a', {
    href: url,
    download: `tacit-export-${document_.exportedAt.slice(0, 10)}.json`,
  });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function mountDataSection(root: HTMLElement, signal?: AbortSignal): void {
  const status = element('p', { className: 'muted', id: 'data-status' });
  status.setAttribute('role', 'status');
  status.setAttribute('aria-live', 'polite');

  const forgetButton = element(
    'button',
    { type: 'button', id: 'forget-device-data' },
    'Forget this device',
  );
  const exportButton = element('button', { type: 'button', id: 'export-data' }, 'Export my data');
  const deleteButton = element(
    'button',
    { type: 'button', id: 'delete-everything', className: 'danger' },
    'Delete everything…',
  );
  const confirmBox = element(
    'div',
    { id: 'delete-confirm', hidden: true, className: 'confirm' },
    element(
      'p',
      {},
      "This revokes this device at your bank's verification server and deletes, on this device, " +
        'the device key, every model, every stored window, the attestation history and these ' +
        'settings. Your bank will ask you to enrol again. This cannot be undone.',
    ),
  );
  const confirmButton = element(
    'button',
    { type: 'button', id: 'delete-confirmed', className: 'danger' },
    'Yes, delete everything',
  );
  const cancelButton = element('button', { type: 'button', id: 'delete-cancel' }, 'Cancel');
  confirmBox.append(confirmButton, ' ', cancelButton);

  root.append(
    element(
      'p',
      { className: 'muted' },
      'Forgetting this device revokes its enrolment at the verification server and deletes its key. ' +
        'Your bank will ask you to enrol again.',
    ),
    forgetButton,
    element(
      'p',
      { className: 'muted' },
      'The export is a JSON file of what Tacit keeps about you: model dates, window counts and the ' +
        'statements sent to your bank. It never contains timings, features or text.',
    ),
    exportButton,
    ' ',
    deleteButton,
    confirmBox,
    status,
  );

  // Two clicks instead of confirm(): dialogs may not show in an embedded options page.
  let armed = false;
  forgetButton.addEventListener(
    'click',
    () => {
      if (!armed) {
        armed = true;
        forgetButton.textContent = 'Click again to forget this device';
        return;
      }
      armed = false;
      forgetButton.disabled = true;
      forgetButton.textContent = 'Forget this device';
      status.textContent = 'Forgetting…';
      void sendFromPage({ type: 'forget-device' })
        .then((reply) => {
          status.textContent = reply.ok
            ? 'This device is forgotten.'
            : `Nothing was deleted. ${describeError(reply.error)}`;
        })
        .catch(() => (status.textContent = `Nothing was deleted. ${describeError(null)}`))
        .finally(() => (forgetButton.disabled = false));
    },
    { signal },
  );

  exportButton.addEventListener(
    'click',
    () => {
      exportButton.disabled = true;
      status.textContent = 'Preparing the export…';
      void sendFromPage({ type: 'export-data' })
        .then((reply) => {
          if (!reply.ok || !reply.document) {
            status.textContent = `The export failed. ${describeError(reply.error)}`;
            return;
          }
          download(reply.document);
          status.textContent = 'Exported.';
        })
        .catch(() => (status.textContent = `The export failed. ${describeError(null)}`))
        .finally(() => (exportButton.disabled = false));
    },
    { signal },
  );

  deleteButton.addEventListener(
    'click',
    () => {
      confirmBox.hidden = false;
      confirmButton.focus();
    },
    { signal },
  );
  cancelButton.addEventListener(
    'click',
    () => {
      confirmBox.hidden = true;
      deleteButton.focus();
    },
    { signal },
  );
  confirmButton.addEventListener(
    'click',
    () => {
      confirmButton.disabled = true;
      status.textContent = 'Deleting…';
      void sendFromPage({ type: 'delete-everything' })
        .then((reply) => {
          status.textContent = reply.ok
            ? "Everything is deleted, and your bank's server was told this device is revoked."
            : `Nothing was deleted. ${describeError(reply.error)}`;
          if (reply.ok) confirmBox.hidden = true;
        })
        .catch(() => (status.textContent = `Nothing was deleted. ${describeError(null)}`))
        .finally(() => (confirmButton.disabled = false));
    },
    { signal },
  );
}
