/**
 * Where the content script runs. It is registered at run time (scripting.registerContentScripts,
 * Chrome and Firefox) for the protected origins the extension holds a host permission for, and
 * only once consent is given: a site the user adds in the options page (after the browser's
 * permission prompt) or one the organisation lists by policy is covered without a reload of the
 * extension; a removed site, a revoked permission or withdrawn consent unregisters it.
 *
 * The registration is only the first gate: the content script still asks the service worker
 * (`capture-policy`), which checks the exact origin (with its port), consent and pause.
 */
import { matchPatternOf } from '../shared/config';

/** Id of the one dynamic content script. */
export const CAPTURE_SCRIPT_ID = 'tacit-capture';

export interface RegisteredScript {
  id: string;
  matches?: string[];
  js?: string[];
}

/** The slice of the browser's `scripting` and `permissions` APIs this module uses. */
export interface RegistrationApis {
  getRegisteredContentScripts(filter: { ids: string[] }): Promise<RegisteredScript[]>;
  registerContentScripts(
    scripts: {
      id: string;
      matches: string[];
      js: string[];
      runAt: 'document_start';
      allFrames: false;
      persistAcrossSessions: boolean;
    }[],
  ): Promise<void>;
  unregisterContentScripts(filter: { ids: string[] }): Promise<void>;
  /** Whether the extension may run scripts on `pattern` (permissions.contains). */
  hasHostPermission(pattern: string): Promise<boolean>;
}

export interface CaptureTarget {
  /** Protected origins (config). */
  origins: readonly string[];
  consent: boolean;
}

export interface SyncResult {
  /** Match patterns the content script is now registered for (empty: not registered). */
  matches: string[];
  /** Protected origins skipped because the browser has not granted their host permission. */
  withoutPermission: string[];
}

/**
 * Brings the registration in line with the config, consent and granted permissions. Idempotent:
 * called at start-up, on config and consent changes, and when permissions are added or removed.
 */
export async function syncCaptureRegistration(
  apis: RegistrationApis,
  target: CaptureTarget,
  scriptFile: string,
): Promise<SyncResult> {
  const matches: string[] = [];
  const withoutPermission: string[] = [];
  if (target.consent) {
    for (const origin of target.origins) {
      const pattern = matchPatternOf(origin);
      if (!(await apis.hasHostPermission(pattern))) withoutPermission.push(origin);
      else if (!matches.includes(pattern)) matches.push(pattern);
    }
  }
  matches.sort();
  const [current] = await apis.getRegisteredContentScripts({ ids: [CAPTURE_SCRIPT_ID] });
  const same =
    current !== undefined &&
    JSON.stringify([...(current.matches ?? [])].sort()) === JSON.stringify(matches) &&
    (current.js ?? []).length === 1 &&
    current.js![0]!.replace(/^\//, '') === scriptFile.replace(/^\//, '');
  if (same) return { matches, withoutPermission };
  if (current !== undefined) await apis.unregisterContentScripts({ ids: [CAPTURE_SCRIPT_ID] });
  if (matches.length > 0) {
    await apis.registerContentScripts([
      {
        id: CAPTURE_SCRIPT_ID,
        matches,
        js: [scriptFile],
        runAt: 'document_start',
        allFrames: false,
        // Re-synced at every start anyway; persisting avoids a gap before the first sync.
        persistAcrossSessions: true,
      },
    ]);
  }
  return { matches, withoutPermission };
}
