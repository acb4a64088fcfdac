import { afterAll } from 'vitest';
import {
  scratchDir,
  selfSignedCertificate,
  startCaddy,
  startHaproxy,
  startNginx,
  type TestCertificate,
} from '../support/proxies.js';
import { freePort } from '../support/server.js';
import { docConfig, fill } from './doc-configs.js';
import { type ProxyInFront, SHORT_TIMEOUT_MS } from './scenarios.js';

// The page's configs made runnable: the same text, with only the listening address, the upstream address, the
// certificate paths and (for the idle-timeout tests) the timeouts replaced.

let certificate: { cert: TestCertificate; remove(): void } | undefined;

// Registered when a test file imports this module, so it runs after that file's last test.
afterAll(() => {
  certificate?.remove();
  certificate = undefined;
});

/** The self-signed certificate of the test file's proxies, made on first use and removed after the file. */
export function testCertificate(): TestCertificate {
  if (certificate === undefined) {
    const scratch = scratchDir('cert');
    certificate = { cert: selfSignedCertificate(scratch.dir), remove: scratch.remove };
  }
  return certificate.cert;
}

/** The page's nginx block (or `config`, a variant of it) listening on `port` and forwarding to `upstream`. */
export function nginxBlock(
  upstream: string,
  port: number,
  options: { shortTimeout?: boolean; config?: string } = {},
): string {
  const cert = testCertificate();
  return fill(options.config ?? docConfig('nginx'), [
    ['server 127.0.0.1:3000;', `server ${upstream};`],
    ['listen 443 ssl http2;', `listen 127.0.0.1:${port} ssl http2;`],
    ['/etc/ssl/example.com.pem', cert.certFile],
    ['/etc/ssl/example.com.key', cert.keyFile],
    ['proxy_read_timeout 1h;', `proxy_read_timeout ${options.shortTimeout ? `${SHORT_TIMEOUT_MS}ms` : '1h'};`],
  ]);
}

/** The page's nginx block in front of `upstream`. */
export async function nginxInFront(upstream: string, options: { shortTimeout?: boolean } = {}): Promise<ProxyInFront> {
  const port = await freePort();
  const proxy = await startNginx(nginxBlock(upstream, port, options), [port]);
  return { url: `https://127.0.0.1:${port}`, proxy };
}

/** One of the page's Caddyfiles (`config`), its site on a free loopback port, forwarding to `upstream`. */
export async function caddyInFront(config: string, upstream: string): Promise<ProxyInFront> {
  const port = await freePort();
  const site = fill(config, [
    // Caddy's internal CA issues the certificate for the IP address; `bind` keeps the site on loopback.
    ['example.com {', `https://127.0.0.1:${port} {\n    bind 127.0.0.1`],
    ['127.0.0.1:3000', upstream],
  ]);
  const proxy = await startCaddy(site, [port], await freePort());
  return { url: `https://127.0.0.1:${port}`, proxy };
}

/**
 * The page's HAProxy config (or `config`, a variant of it) in front of `upstream`: `url` is its TLS bind,
 * `plainUrl` its cleartext one.
 */
export async function haproxyInFront(
  upstream: string,
  options: { shortTimeout?: boolean; config?: string } = {},
): Promise<ProxyInFront & { plainUrl: string }> {
  const port = await freePort();
  const plainPort = await freePort();
  const timeout = options.shortTimeout ? `${SHORT_TIMEOUT_MS}ms` : '60s';
  const config = fill(options.config ?? docConfig('haproxy'), [
    ['bind :443 ', `bind 127.0.0.1:${port} `],
    ['bind :80 ', `bind 127.0.0.1:${plainPort} `],
    ['/etc/haproxy/certs/example.com.pem', testCertificate().pemFile],
    ['server app1 127.0.0.1:3000', `server app1 ${upstream}`],
    ['timeout client 60s', `timeout client ${timeout}`],
    ['timeout server 60s', `timeout server ${timeout}`],
  ]);
  const proxy = await startHaproxy(config, [port], [plainPort]);
  return { url: `https://127.0.0.1:${port}`, plainUrl: `http://127.0.0.1:${plainPort}`, proxy };
}
