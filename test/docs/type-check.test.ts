import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeBlock } from './markdown.js';
import { type CheckRun, checkBlocks } from './type-check.js';

// The harness that compiles the docs' samples must itself fail when a sample is wrong; these blocks pin that down.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function block(line: number, kind: CodeBlock['kind'], code: string): CodeBlock {
  return { file: 'docs/example.md', line, kind, code };
}

const valid = block(10, 'module', "import { createHub } from '@ssekit/core';\nawait createHub().broadcast('hi');\n");
const typo = block(20, 'module', "import { createHub } from '@ssekit/core';\n\ncreateHub({ histroy: false });\n");
const browserUsesNode = block(30, 'browser', "new EventSource('/events');\nprocess.exit(1);\n");
const peer = block(40, 'peer', "import { createSession } from 'better-sse';\nexport const open = createSession;\n");
const peerWithoutPeer = block(50, 'peer', "import express from 'express';\nexport const app = express();\n");
const ssekitImportingPeer = block(60, 'module', "import SSE from 'express-sse';\nexport const sse = new SSE();\n");
const brokenFragment = block(70, 'fragment', "app.get('/x', (req, res => {\n");
const badTag = { ...block(80, 'module', 'export {};\n'), problem: 'docs/example.md:80: unknown tag `frgament`' };

let run: CheckRun | undefined;

beforeAll(() => {
  run = checkBlocks(root, [
    valid,
    typo,
    browserUsesNode,
    peer,
    peerWithoutPeer,
    ssekitImportingPeer,
    brokenFragment,
    badTag,
  ]);
}, 120_000);

afterAll(() => run?.dispose());

function errorsOf(b: CodeBlock): string[] {
  return run?.results.get(b)?.errors ?? ['not checked'];
}

describe('the sample compiler', () => {
  it('passes a correct sample', () => {
    expect(errorsOf(valid)).toEqual([]);
  });

  it('fails a sample with a type error, at its line in the Markdown file', () => {
    const [error] = errorsOf(typo);
    expect(error).toMatch(/^docs\/example\.md:23:13 TS\d+: .*'histroy'/);
  });

  it('checks browser samples against the DOM library, without Node globals', () => {
    expect(errorsOf(browserUsesNode).join('\n')).toMatch(/docs\/example\.md:32:1 TS\d+: Cannot find name 'process'/);
  });

  it('checks a peer sample against the peer library installed in bench/', () => {
    expect(errorsOf(peer)).toEqual([]);
    expect(run?.results.get(peer)?.checkedBy).toBe('peer:better-sse');
  });

  it('requires a peer sample to import a peer library, and an ssekit sample not to', () => {
    expect(errorsOf(peerWithoutPeer)[0]).toMatch(/must import exactly one of/);
    expect(errorsOf(ssekitImportingPeer)[0]).toMatch(/fence it as ```ts peer/);
  });

  it('parses fragments for syntax only, and fails a broken one', () => {
    expect(errorsOf(brokenFragment)[0]).toMatch(/^docs\/example\.md:7[12]:\d+ TS1005/);
  });

  it('fails a block whose fence is wrong instead of skipping it', () => {
    expect(errorsOf(badTag)).toEqual(['docs/example.md:80: unknown tag `frgament`']);
  });
});
