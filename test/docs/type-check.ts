import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { readBaseCompilerOptions } from '../../scripts/tsconfig-options.js';
import type { CodeBlock } from './markdown.js';

/**
 * Type-checks the docs' code blocks with the TypeScript compiler API, against the real packages.
 *
 * Every block is written to a temporary directory as its own ES module. Blocks are grouped into as few Programs as
 * the type system allows: one for ssekit samples (Node types), one for browser samples (DOM types), and one per peer
 * library, because `@fastify/sse`, `fastify-sse-v2` and `@ssekit/fastify` all augment Fastify's `reply.sse` in
 * incompatible ways and cannot share a Program. Parsed files (lib, `@types/node`, Fastify's types) are shared
 * between the Programs, so each extra Program costs little more than its type check.
 *
 * Module resolution: `@ssekit/<name>` maps to `packages/<name>/src/index.ts` (what the `source` export condition
 * points at), so no build is needed. Other packages resolve normally from the sample and, failing that, from the
 * workspace packages that depend on them (`express` from `packages/express`, `fastify` from `packages/fastify`...).
 * Peer blocks resolve from `bench/` first, where the peer libraries are installed, with bundler-style resolution
 * (see `optionsFor`).
 */

/** Peer SSE libraries that migration docs show; installed in `bench/node_modules`. */
export const PEER_LIBRARIES = ['better-sse', '@fastify/sse', 'fastify-sse-v2', 'express-sse'] as const;

/** The outcome for one block: the compiler's complaints, formatted with the Markdown file's line numbers. */
export interface BlockResult {
  block: CodeBlock;
  /** Which Program checked it (`node`, `browser`, `peer:<library>`, or `syntax` for fragments). */
  checkedBy: string;
  errors: string[];
}

/** The outcome of a whole run. */
export interface CheckRun {
  results: Map<CodeBlock, BlockResult>;
  /** Problems of a Program as a whole (a missing lib, a broken option); they would make every result meaningless. */
  setupErrors: string[];
  /** The temporary directory the samples were written to; removed by `dispose()`. */
  directory: string;
  dispose(): void;
}

const SSEKIT_IMPORT = /^@ssekit\/([a-z0-9-]+)(?:\/([a-z0-9-]+))?$/;

/** Type-checks `blocks`; `root` is the repository root. */
export function checkBlocks(root: string, blocks: readonly CodeBlock[]): CheckRun {
  const directory = mkdtempSync(join(tmpdir(), 'ssekit-doc-samples-'));
  // The samples are ES modules, like the project (top-level await, `import` of ESM-only packages).
  writeFileSync(join(directory, 'package.json'), '{ "type": "module" }\n');
  const results = new Map<CodeBlock, BlockResult>();
  const groups = new Map<string, { block: CodeBlock; fileName: string }[]>();
  const setupErrors: string[] = [];

  for (const block of blocks) {
    if (block.problem !== undefined) {
      results.set(block, { block, checkedBy: 'fence', errors: [block.problem] });
      continue;
    }
    if (block.kind === 'fragment') {
      results.set(block, { block, checkedBy: 'syntax', errors: syntaxErrors(block) });
      continue;
    }
    const group = groupOf(block);
    if (typeof group !== 'string') {
      results.set(block, { block, checkedBy: 'fence', errors: [group.problem] });
      continue;
    }
    const fileName = join(directory, sampleFileName(block));
    writeFileSync(fileName, block.code);
    const members = groups.get(group) ?? [];
    members.push({ block, fileName });
    groups.set(group, members);
  }

  const base = baseOptions(root);
  const sourceFiles = new Map<string, ts.SourceFile>();
  for (const [group, members] of groups) {
    const options = optionsFor(group, base, root);
    const host = createHost(options, root, directory, group, sourceFiles);
    const program = ts.createProgram({ rootNames: members.map((m) => m.fileName), options, host });
    for (const diagnostic of [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()]) {
      setupErrors.push(`[${group}] ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
    }
    for (const { block, fileName } of members) {
      const sourceFile = program.getSourceFile(fileName);
      if (sourceFile === undefined) {
        results.set(block, { block, checkedBy: group, errors: [`${where(block, 0)}: the sample was not compiled`] });
        continue;
      }
      const diagnostics = [
        ...program.getSyntacticDiagnostics(sourceFile),
        ...program.getSemanticDiagnostics(sourceFile),
      ];
      results.set(block, { block, checkedBy: group, errors: diagnostics.map((d) => format(block, d)) });
    }
  }

  return {
    results,
    setupErrors,
    directory,
    dispose: () => rmSync(directory, { recursive: true, force: true }),
  };
}

/** The Program a block belongs to, from its tag and the peer libraries it imports. */
function groupOf(block: CodeBlock): string | { problem: string } {
  const imported = ts.preProcessFile(block.code, true, true).importedFiles.map((f) => f.fileName);
  const peers = PEER_LIBRARIES.filter((peer) => imported.some((name) => name === peer || name.startsWith(`${peer}/`)));
  if (block.kind === 'browser') return 'browser';
  if (block.kind === 'peer') {
    if (peers.length !== 1) {
      return {
        problem: `${where(block, 0)}: a \`ts peer\` block must import exactly one of ${PEER_LIBRARIES.join(', ')}; it imports ${peers.length === 0 ? 'none' : peers.join(', ')}.`,
      };
    }
    return `peer:${peers[0]}`;
  }
  if (peers.length > 0) {
    return {
      problem: `${where(block, 0)}: this block imports ${peers.join(', ')}, a peer library: fence it as \`\`\`ts peer.`,
    };
  }
  return 'node';
}

/** The repository's own compiler options (tsconfig.base.json), so samples are held to the project's strictness. */
function baseOptions(root: string): ts.CompilerOptions {
  return {
    ...readBaseCompilerOptions(root),
    noEmit: true,
    declaration: false,
    sourceMap: false,
    // A sample without imports is still a module of its own; its names must not clash with other samples'.
    moduleDetection: ts.ModuleDetectionKind.Force,
  };
}

function optionsFor(group: string, base: ts.CompilerOptions, root: string): ts.CompilerOptions {
  if (group === 'browser') {
    return { ...base, lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'], types: [], typeRoots: [] };
  }
  const node = { ...base, types: ['node'], typeRoots: [join(root, 'node_modules/@types')] };
  if (group.startsWith('peer:')) {
    // Peer libraries ship CommonJS typings whose default export only type-checks the way most of their users
    // compile (a bundler, or CommonJS output): under NodeNext ESM, `import fastifySSE from '@fastify/sse'` is typed
    // as the module namespace. The migration samples show the peers' APIs, not their module interop.
    return { ...node, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };
  }
  return node;
}

/** A compiler host that shares parsed files between Programs and resolves modules as described above. */
function createHost(
  options: ts.CompilerOptions,
  root: string,
  directory: string,
  group: string,
  sourceFiles: Map<string, ts.SourceFile>,
): ts.CompilerHost {
  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreate) => {
    const settings =
      typeof languageVersionOrOptions === 'object'
        ? `${languageVersionOrOptions.languageVersion}:${languageVersionOrOptions.impliedNodeFormat}`
        : String(languageVersionOrOptions);
    // Samples are written per run and never shared; library files are the same bytes for every Program.
    if (fileName.startsWith(directory)) return getSourceFile(fileName, languageVersionOrOptions, onError, shouldCreate);
    const key = `${settings}:${fileName}`;
    let sourceFile = sourceFiles.get(key);
    if (sourceFile === undefined) {
      sourceFile = getSourceFile(fileName, languageVersionOrOptions, onError, shouldCreate);
      if (sourceFile !== undefined) sourceFiles.set(key, sourceFile);
    }
    return sourceFile;
  };

  const fallbackDirs = [
    ...(group.startsWith('peer:') ? ['bench'] : []),
    'packages/express',
    'packages/fastify',
    'packages/redis',
    'demo',
    'bench',
    '.',
  ].map((dir) => resolve(root, dir));
  const cache = ts.createModuleResolutionCache(root, (name) => name, options);

  host.resolveModuleNameLiterals = (
    literals,
    containingFile,
    redirectedReference,
    compilerOptions,
    containingSourceFile,
  ) =>
    literals.map((literal) => {
      const name = literal.text;
      const mode = ts.getModeForUsageLocation(containingSourceFile, literal, compilerOptions);
      const ssekit = SSEKIT_IMPORT.exec(name);
      if (ssekit !== null) {
        const entry = join(root, 'packages', ssekit[1] as string, 'src', `${ssekit[2] ?? 'index'}.ts`);
        if (existsSync(entry)) {
          return {
            resolvedModule: { resolvedFileName: entry, extension: ts.Extension.Ts, isExternalLibraryImport: false },
          };
        }
      }
      const own = ts.resolveModuleName(name, containingFile, compilerOptions, host, cache, redirectedReference, mode);
      if (own.resolvedModule !== undefined || !containingFile.startsWith(directory)) return own;
      for (const dir of fallbackDirs) {
        const found = ts.resolveModuleName(
          name,
          join(dir, '__sample__.ts'),
          compilerOptions,
          host,
          cache,
          undefined,
          mode,
        );
        if (found.resolvedModule !== undefined) return found;
      }
      return own;
    });
  return host;
}

function syntaxErrors(block: CodeBlock): string[] {
  const output = ts.transpileModule(block.code, {
    reportDiagnostics: true,
    fileName: sampleFileName(block),
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return (output.diagnostics ?? []).map((d) => format(block, d));
}

function sampleFileName(block: CodeBlock): string {
  return `${block.file.replace(/[^a-zA-Z0-9]+/g, '-')}-L${block.line}.ts`;
}

function where(block: CodeBlock, lineInBlock: number, column?: number): string {
  const line = block.line + 1 + lineInBlock;
  return column === undefined ? `${block.file}:${line}` : `${block.file}:${line}:${column}`;
}

/** One diagnostic as `docs/x.md:LINE:COL TS1234: message`, plus the offending line of the sample. */
function format(block: CodeBlock, diagnostic: ts.Diagnostic): string {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ');
  if (diagnostic.file === undefined || diagnostic.start === undefined)
    return `${block.file}: TS${diagnostic.code}: ${message}`;
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  const source = block.code.split('\n')[line] ?? '';
  return `${where(block, line, character + 1)} TS${diagnostic.code}: ${message}\n    ${source.trim()}`;
}
