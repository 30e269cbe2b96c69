/** Which browser this build targets; replaced at build time by vite (`define`). */
declare const __TACIT_BROWSER__: 'chrome' | 'firefox';
