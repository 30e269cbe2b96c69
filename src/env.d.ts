/** Which browser this build targets; replaced at build time by vite (`define`). */
declare const __TACIT_BROWSER__: 'chrome' | 'firefox';

/** A content script built on its own for `scripting.registerContentScripts` (@crxjs/vite-plugin). */
declare module '*?script&iife' {
  /** The built file's path inside the extension. */
  const fileName: string;
  export default fileName;
}
