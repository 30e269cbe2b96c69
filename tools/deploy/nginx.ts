/**
 * nginx for the local site: the shared template (nginx.conf.template) rendered from the plan,
 * wrapped in a main context of our own (foreground, its own prefix, pid and temp paths in one
 * directory, errors to stderr), so no system configuration is read or touched.
 *
 * @module
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTemplate } from './plan';

export const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
export const TEMPLATE_PATH = fileURLToPath(new URL('./nginx.conf.template', import.meta.url));

/**
 * The main context around the rendered template. `daemon off` and `master_process on`: nginx
 * is our child (Ctrl-C reaches it through us) and still reloads on SIGHUP. Workers run as the
 * invoking user, or as `nobody` when that is root (nginx's default).
 */
export function mainConfig(dir: string, http: string): string {
  return [
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    'error_log stderr warn;',
    'events { worker_connections 4096; }',
    'http {',
    `  client_body_temp_path ${join(dir, 'client_body')};`,
    `  proxy_temp_path ${join(dir, 'proxy')};`,
    `  fastcgi_temp_path ${join(dir, 'fastcgi')};`,
    `  uwsgi_temp_path ${join(dir, 'uwsgi')};`,
    `  scgi_temp_path ${join(dir, 'scgi')};`,
    '  default_type application/octet-stream;',
    '  server_tokens off;',
    http,
    '}',
    '',
  ].join('\n');
}

/**
 * Writes `nginx.conf` into `dir` from the template and `vars`. `down` marks upstreams (by
 * index) out of rotation: the way to drain an instance with open-source nginx is to reload
 * without it, let the old workers finish what they hold, then stop the instance.
 */
export function writeNginxConfig(
  dir: string,
  vars: Record<string, string>,
  down: ReadonlySet<number> = new Set(),
): string {
  const v = { ...vars };
  for (const i of down) {
    const key = `NGINX_UPSTREAM_${i + 1}`;
    // `server host:port down max_fails=…;` is the upstream line with the `down` parameter.
    v[key] = `${v[key]} down`;
  }
  const http = renderTemplate(readFileSync(TEMPLATE_PATH, 'utf8'), v);
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, mainConfig(dir, http));
  return file;
}

/** The nginx command line for a config written by {@link writeNginxConfig}. */
export function nginxArgs(dir: string, file: string): string[] {
  return ['-p', dir, '-c', file, '-e', 'stderr'];
}

/** The worker processes of the nginx master `pid`, from /proc (Linux). */
export function workerPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name: state, ppid, …
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
