import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../support/clients.js';
import { redisForSuite, redisRequirement } from '../support/redis.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

// The commands the README and the demo's help give, run as a newcomer runs them: through pnpm, in a child process.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const URL_LINE = /➜ {2}http:\/\/localhost:(\d+)/g;

interface Command {
  readonly child: ChildProcess;
  output(): string;
  /** Ports of the demo URLs printed so far. */
  ports(): number[];
  waitForPorts(count: number, timeout?: number): Promise<number[]>;
  exited(): boolean;
  /** SIGTERM to the whole process group (pnpm, tsx, node), as a terminal's Ctrl+C reaches them all. */
  stop(timeout?: number): Promise<void>;
}

const teardown = closeAfterEach();

function run(args: string[], env: Record<string, string>, command = 'pnpm'): Command {
  // Its own process group, so that stop() reaches pnpm and every process it started.
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, detached: true });
  let output = '';
  let exited = false;
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  // 'close', not 'exit': pnpm exits on SIGTERM at once, while the processes it started still hold its output open
  // and are still printing how they shut down.
  child.once('close', () => (exited = true));
  const handle: Command = {
    child,
    output: () => output,
    ports: () => [...output.matchAll(URL_LINE)].map((match) => Number(match[1])),
    async waitForPorts(count, timeout = 30_000) {
      await waitFor(() => handle.ports().length >= count || exited, `${count} demo URL(s) in:\n${output}`, timeout);
      if (handle.ports().length < count) throw new Error(`The command exited early:\n${output}`);
      return handle.ports();
    },
    exited: () => exited,
    async stop(timeout = 15_000) {
      if (!exited && child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      await waitFor(() => exited, `the command to exit after SIGTERM; output:\n${output}`, timeout);
    },
  };
  // A command the test did not stop (it failed first) is killed with its whole process group.
  teardown.defer(() => {
    if (!exited && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  });
  return handle;
}

describe('pnpm demo', () => {
  it('prints the URL, serves the page on Express with the in-memory hub, and closes on SIGTERM', async () => {
    const demo = run(['demo'], { PORT: '0' });
    const [port] = await demo.waitForPorts(1);
    expect(demo.output()).toContain('ssekit demo on Express, the in-memory hub');
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>ssekit demo');

    // A client connected at shutdown is told when to come back: the graceful close of the hub.
    const client = await rawSse(`http://127.0.0.1:${port}/api/sse/connect/watcher`);
    await client.waitForEvents(1);
    await demo.stop();
    await client.waitForEnd();
    expect(client.retries.length).toBe(2);
    expect(client.retries[1]).toBeGreaterThanOrEqual(1000);
    expect(client.retries[1]).toBeLessThanOrEqual(3000);
    expect(demo.output()).toContain('Closed.');
  });

  it('serves the same page and API on Fastify with --fastify', async () => {
    const demo = run(['demo', '--fastify'], { PORT: '0' });
    const [port] = await demo.waitForPorts(1);
    expect(demo.output()).toContain('ssekit demo on Fastify');
    const info = await (await fetch(`http://127.0.0.1:${port}/api/info`)).json();
    expect(info).toMatchObject({ framework: 'fastify', broker: 'memory', instance: `fastify:${port}` });
    await demo.stop();
  });

  it('says what is wrong with a bad option, and exits', async () => {
    // The entry point itself, without pnpm in front: the same code, a second faster.
    const args = ['--import', 'tsx', 'demo/src/main.ts', '--port', 'eighty'];
    const demo = run(args, {}, process.execPath);
    await waitFor(() => demo.exited(), 'the command to exit', 30_000);
    expect(demo.output()).toContain('the port must be a number from 0 to 65535, got "eighty"');
    expect(demo.child.exitCode).not.toBe(0);
  });
});

const redis = redisRequirement();

describe.skipIf(redis.skip)('pnpm --filter @ssekit/demo cluster', () => {
  const server = redisForSuite();

  it('starts Express and Fastify on consecutive ports, sharing one hub through Redis, and a balancer in front', async () => {
    const base = await freePortPair();
    const cluster = run(['--filter', '@ssekit/demo', 'cluster'], { PORT: String(base), REDIS_URL: server.url });
    const ports = await cluster.waitForPorts(2, 45_000);
    expect(ports.sort()).toEqual([base, base + 1]);
    const express = `http://127.0.0.1:${base}`;
    const fastify = `http://127.0.0.1:${base + 1}`;
    expect(await (await fetch(`${express}/api/info`)).json()).toMatchObject({
      framework: 'express',
      broker: 'redis',
      ticker: true,
    });
    expect(await (await fetch(`${fastify}/api/info`)).json()).toMatchObject({
      framework: 'fastify',
      broker: 'redis',
      ticker: false,
    });

    // Connected to Fastify, told through Express.
    const bob = await rawSse(`${fastify}/api/sse/connect/bob?topics=stocks`);
    await bob.waitForEvents(1);
    const sent = await fetch(`${express}/api/sse/send/bob`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'across instances' }),
    });
    const { id } = (await sent.json()) as { id: string };
    await waitFor(() => bob.events.some((e) => e.id === id), 'the message on the other instance', 15_000);
    // The ticker runs on Express only, and its ticks reach Fastify's clients.
    await waitFor(() => bob.events.some((e) => e.event === 'tick'), 'a tick', 15_000);
    bob.close();
    // A round-robin balancer in front of both, for the chat's resume on the other instance.
    expect(cluster.output()).toContain(`Balancer in front of both: http://localhost:${base + 2}`);
    const through = await Promise.all([1, 2].map(() => fetch(`http://127.0.0.1:${base + 2}/api/info`)));
    const frameworks = await Promise.all(
      through.map(async (answer) => ((await answer.json()) as { framework: string }).framework),
    );
    expect(frameworks.sort()).toEqual(['express', 'fastify']);
    await cluster.stop();
    expect(cluster.output()).toMatch(/\[express:\d+\] Closed\./);
    expect(cluster.output()).toMatch(/\[fastify:\d+\] Closed\./);
  });
});

/** A port whose two successors are free too (the cluster takes PORT and PORT + 1, its balancer PORT + 2). */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await isFree(base)) && (await isFree(base + 1)) && (await isFree(base + 2))) return base;
  }
  throw new Error('No three consecutive free ports found.');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
