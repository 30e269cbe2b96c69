import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestCertificate } from '../../e2e/support/tls';
import { NGINX, nginxArgs, writeNginxConfig } from './nginx';
import { DEFAULT_PORTS, nginxVars } from './plan';
import { localSite } from './topology';

// The local site's nginx configuration, as deploy:local writes it, checked by nginx itself
// (`nginx -t`), with and without an instance drained.
const root = mkdtempSync(join(tmpdir(), 'tacit-nginx-test-'));
// As topology.ts lays it out: nginx's prefix in <state dir>/nginx.
const dir = join(root, 'nginx');
mkdirSync(dir);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(!existsSync(NGINX) && !process.env.CI)('nginx configuration (local site)', () => {
  const cert = makeTestCertificate('localhost');
  const vars = nginxVars(localSite(root, cert, 'k'.repeat(32), 'm'.repeat(32)), DEFAULT_PORTS);
  const test = (file: string) =>
    execFileSync(NGINX, ['-t', ...nginxArgs(dir, file)], { stdio: 'pipe' });

  it('is accepted by nginx -t, TLS 1.3 only, both upstreams in rotation', () => {
    const file = writeNginxConfig(dir, vars);
    expect(() => test(file)).not.toThrow();
    const conf = readFileSync(file, 'utf8');
    expect(conf).toMatch(/^daemon off;$/m);
    expect(conf).toMatch(/^\s*ssl_protocols TLSv1\.3;$/m);
    expect(conf).toContain(`server 127.0.0.1:${DEFAULT_PORTS.instances[0]} max_fails`);
    expect(conf).toContain(`server 127.0.0.1:${DEFAULT_PORTS.instances[1]} max_fails`);
    expect(conf).not.toMatch(/ down /);
  });

  it('marks a drained instance down, and nginx accepts that too', () => {
    const file = writeNginxConfig(dir, vars, new Set([1]));
    expect(() => test(file)).not.toThrow();
    const conf = readFileSync(file, 'utf8');
    expect(conf).toContain(`server 127.0.0.1:${DEFAULT_PORTS.instances[0]} max_fails`);
    expect(conf).toContain(`server 127.0.0.1:${DEFAULT_PORTS.instances[1]} down max_fails`);
  });
});
