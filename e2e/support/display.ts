import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * A virtual X display (Xvfb) for the few tests that must answer the browser's own UI, which
 * Playwright cannot reach: the host-permission prompt `permissions.request` shows. The test
 * answers it as a person would, with the keyboard (xdotool), on this display only.
 */
export interface VirtualDisplay {
  display: string;
  /** Sends key strokes (xdotool names, e.g. `Tab`, `Return`) to the focused window. */
  keys(...keys: string[]): void;
  stop(): Promise<void>;
}

export async function startVirtualDisplay(): Promise<VirtualDisplay> {
  for (const tool of ['/usr/bin/Xvfb', '/usr/bin/xdotool']) {
    if (!existsSync(tool))
      throw new Error(
        `${tool} is missing (Debian packages xvfb and xdotool; .ci/run installs them)`,
      );
  }
  // A display number unlikely to be taken; retried on the next if it is.
  for (let n = 90 + Math.floor(Math.random() * 100); ; n++) {
    if (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) continue;
    const display = `:${n}`;
    const child: ChildProcess = spawn(
      '/usr/bin/Xvfb',
      [display, '-screen', '0', '1280x900x24', '-nolisten', 'tcp'],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 50 && !existsSync(`/tmp/.X11-unix/X${n}`); i++)
      await new Promise((r) => setTimeout(r, 100));
    if (child.exitCode !== null || !existsSync(`/tmp/.X11-unix/X${n}`)) {
      child.kill();
      continue;
    }
    return {
      display,
      keys: (...keys) =>
        execFileSync('/usr/bin/xdotool', ['key', '--delay', '150', ...keys], {
          env: { ...process.env, DISPLAY: display },
        }),
      stop: async () => {
        if (child.exitCode !== null) return;
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await exited;
      },
    };
  }
}
