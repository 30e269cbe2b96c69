/** Typed extension errors with stable codes, logged once per stack. */

export type ExtensionErrorCode =
  'ERR_CONFIG' | 'ERR_SERVER' | 'ERR_NETWORK' | 'ERR_NOT_ENROLLED' | 'ERR_MODEL' | 'ERR_SENDER';

export class ExtensionError extends Error {
  readonly code: ExtensionErrorCode;
  /** The server's stable error code, when the failure came from the server. */
  readonly serverCode: string | undefined;

  constructor(code: ExtensionErrorCode, message: string, serverCode?: string) {
    super(message);
    this.name = 'ExtensionError';
    this.code = code;
    this.serverCode = serverCode;
  }
}

const logged = new WeakSet<object>();

/** Logs an error once (the same error object bubbling through several layers is logged once). */
export function logError(context: string, error: unknown): void {
  if (typeof error === 'object' && error !== null) {
    if (logged.has(error)) return;
    logged.add(error);
  }
  console.error(`[tacit] ${context}:`, error);
}
