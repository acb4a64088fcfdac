import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import tls from 'node:tls';
import { requirePart } from './requirements.js';
import { sleep } from './wait.js';

// Real reverse proxies (Debian's nginx, caddy and haproxy packages) started by the tests themselves: each on free
// 127.0.0.1 ports, with its config, pid file, logs and temporary files in a directory of its own, in the
// foreground, killed after the test. The system services are never used.

/** The proxies the deployment tests run. */
export type ProxyKind = 'nginx' | 'caddy' | 'haproxy';

const BINARIES: Record<ProxyKind, { name: string; debian: string }> = {
  nginx: { name: 'nginx', debian: '/usr/sbin/nginx' },
  caddy: { name: 'caddy', debian: '/usr/bin/caddy' },
  haproxy: { name: 'haproxy', debian: '/usr/sbin/haproxy' },
};

/** Where the proxy's binary is: the Debian path, else the first on PATH. */
export function proxyBinary(kind: ProxyKind): string | undefined {
  const { name, debian } = BINARIES[kind];
  const candidates = [debian, ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name))];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not there; try the next one.
    }
  }
  return undefined;
}

/** Whether tests of `kind` can run here (throws under CI=true when the binary is missing). */
export function proxyRequirement(kind: ProxyKind): { skip: boolean } {
  return requirePart(kind, proxyBinary(kind) !== undefined, `install it with \`apt-get install ${kind}\` (Debian).`);
}

/** A self-signed certificate for 127.0.0.1, made with the openssl command line. */
export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** Certificate and key in one file, as HAProxy's `crt` wants it. */
  pemFile: string;
}

/** Writes a fresh self-signed P-256 certificate for `127.0.0.1` and `localhost` into `dir`. */
export function selfSignedCertificate(dir: string): TestCertificate {
  const certFile = join(dir, 'site.crt');
  const keyFile = join(dir, 'site.key');
  const pemFile = join(dir, 'site.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'pipe' },
  );
  writeFileSync(pemFile, readFileSync(certFile, 'utf8') + readFileSync(keyFile, 'utf8'));
  return { certFile, keyFile, pemFile };
}

/** A temporary directory for one proxy (or one test file's certificate); removed by the returned function. */
export function scratchDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `ssekit-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A proxy process running in the foreground. */
export interface RunningProxy {
  kind: ProxyKind;
  /** Its directory: config, pid, logs, temporary files. */
  dir: string;
  /** What it logged (stderr, stdout and its log files). */
  logs(): string;
  /** Kills it (SIGKILL after 3 s of SIGTERM) and removes its directory. */
  close(): Promise<void>;
}

interface Launch {
  kind: ProxyKind;
  args: (dir: string) => string[];
  files: Record<string, string>;
  /** The signal that stops it at once (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** 127.0.0.1 ports on which it must complete a TLS handshake before it counts as started. */
  ports: number[];
  /** 127.0.0.1 ports on which it must accept a cleartext connection before it counts as started. */
  plainPorts?: number[];
  env?: Record<string, string>;
  logFiles?: string[];
  dir: string;
}

async function launch(options: Launch): Promise<RunningProxy> {
  const binary = proxyBinary(options.kind);
  if (binary === undefined) throw new Error(`${options.kind} is not installed`);
  const { dir } = options;
  for (const [name, text] of Object.entries(options.files)) writeFileSync(join(dir, name), text);
  const child: ChildProcess = spawn(binary, options.args(dir), {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const logs = () => {
    let text = output;
    for (const file of options.logFiles ?? []) {
      try {
        text += `\n--- ${file}\n${readFileSync(join(dir, file), 'utf8')}`;
      } catch {
        // Not written (yet).
      }
    }
    return text;
  };
  const close = async () => {
    if (!exited) {
      child.kill(options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  const waits = [
    ...options.ports.map((port) => ({ port, tls: true })),
    ...(options.plainPorts ?? []).map((port) => ({ port, tls: false })),
  ];
  for (const { port, tls: secure } of waits) {
    while (!(await accepts(port, secure))) {
      if (exited || Date.now() > deadline) {
        await close();
        throw new Error(`${options.kind} did not start listening on 127.0.0.1:${port}. Its output:\n${logs()}`);
      }
      await sleep(20);
    }
  }
  return { kind: options.kind, dir, logs, close };
}

/**
 * Whether 127.0.0.1:`port` accepts a connection, with a complete TLS handshake when `secure` (Caddy listens before
 * its internal CA issued the certificate).
 */
function accepts(port: number, secure: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = secure
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      : net.connect({ host: '127.0.0.1', port });
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * Starts nginx with `httpBlock` (server and upstream blocks, as in a `sites-enabled` file) inside a minimal main
 * config whose pid, logs and temporary paths are in the proxy's directory. `ports` are those the blocks listen on;
 * `mainContext` holds the `events` block and any other main-context directives.
 */
export function startNginx(
  httpBlock: string,
  ports: number[],
  mainContext = 'events {\n    worker_connections 1024;\n}',
): Promise<RunningProxy> {
  const { dir } = scratchDir('nginx');
  mkdirSync(join(dir, 'logs'));
  const main = `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${mainContext}
http {
    access_log off;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
${httpBlock}
}
`;
  return launch({
    kind: 'nginx',
    dir,
    files: { 'nginx.conf': main },
    args: (d) => ['-p', d, '-c', join(d, 'nginx.conf'), '-g', 'daemon off;'],
    ports,
    logFiles: ['error.log'],
  });
}

/**
 * Starts Caddy with `siteBlocks` after global options that keep it self-contained: no admin endpoint, storage (its
 * internal CA included) in the proxy's directory, no attempt to install that CA in the system's trust store.
 * `ports` are those the site blocks listen on.
 */
export function startCaddy(siteBlocks: string, ports: number[], httpPort: number): Promise<RunningProxy> {
  const { dir } = scratchDir('caddy');
  const caddyfile = `{
    admin off
    storage file_system ${dir}/storage
    skip_install_trust
    local_certs
    http_port ${httpPort}
    auto_https disable_redirects
    log {
        output file ${dir}/caddy.log
        level WARN
    }
}

${siteBlocks}
`;
  return launch({
    kind: 'caddy',
    dir,
    files: { Caddyfile: caddyfile },
    args: (d) => ['run', '--config', join(d, 'Caddyfile'), '--adapter', 'caddyfile'],
    ports,
    env: { HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
    logFiles: ['caddy.log'],
    // SIGTERM starts a graceful shutdown that waits for the open streams; nothing in its directory needs saving.
    stopSignal: 'SIGKILL',
  });
}

/**
 * Starts HAProxy in the foreground (`-db`) with `config` (defaults, frontends, backends) after a minimal `global`.
 * `ports` are its TLS binds, `plainPorts` its cleartext ones.
 */
export function startHaproxy(config: string, ports: number[], plainPorts: number[] = []): Promise<RunningProxy> {
  const { dir } = scratchDir('haproxy');
  const full = `global
    pidfile ${dir}/haproxy.pid
    maxconn 4096

${config}
`;
  return launch({
    kind: 'haproxy',
    dir,
    files: { 'haproxy.cfg': full },
    args: (d) => ['-db', '-f', join(d, 'haproxy.cfg')],
    ports,
    plainPorts,
  });
}
