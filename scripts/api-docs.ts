/**
 * Generates docs/api.md, the reference of every name each package exports, from the sources and their TSDoc.
 *
 *   pnpm docs:api            writes docs/api.md
 *   pnpm docs:api --check    exits with status 1 when docs/api.md is out of date
 *
 * How: one TypeScript Program over each entry point (`packages/<name>/src/index.ts`, and the subpath entries in
 * API_SUBPATHS, e.g. `@ssekit/core/adapter` from `packages/core/src/adapter.ts`); the checker lists each entry point's exports
 * (following `export *` and re-exports) and their doc comments; the signatures are taken from the declaration
 * files the compiler emits in memory with `stripInternal`, so `@internal` members and function bodies never show.
 * A package whose `src/index.ts` does not exist yet is skipped. test/docs/api.test.ts regenerates and compares, so
 * the reference cannot drift from the code.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { readBaseCompilerOptions } from './tsconfig-options.js';

/** The packages documented, in the order they appear. */
export const API_PACKAGES = ['core', 'express', 'fastify', 'redis'] as const;

/** Subpath entry points (`@ssekit/<dir>/<subpath>` from `src/<subpath>.ts`), documented after their package's root. */
export const API_SUBPATHS: Readonly<Record<string, readonly string[]>> = { core: ['adapter', 'broker'] };

/** One exported name. */
export interface ApiEntry {
  /** The name it is exported under (`default` for a default export). */
  name: string;
  /** `function`, `class`, `interface`, `type`, `const`, `enum` or `namespace` (several joined by ` + `). */
  kind: string;
  /** The doc comment's text, as Markdown (links to other entries resolved). Empty when undocumented. */
  doc: string;
  /** Block tags other than the summary: `@param`, `@returns`, `@throws`, `@example`, `@default`, `@see`... */
  tags: { name: string; text: string }[];
  /** The declaration as a `.d.ts` shows it, without bodies, private members or `@internal` members. */
  signature: string;
  /** Set when the name is re-exported from another package (e.g. `@ssekit/core`). */
  reexportedFrom?: string;
  /** Set when this name is another export of the same package under a second name (`export default ssekit`). */
  aliasOf?: string;
}

/** One package's reference. */
export interface ApiPackage {
  /** `@ssekit/<dir>`, or `@ssekit/<dir>/<subpath>` for a subpath entry point. */
  name: string;
  /** The key of its anchors: the package folder, or `<folder>-<subpath>` for a subpath entry point. */
  dir: string;
  /** The `@packageDocumentation` comment of its index.ts, as Markdown. */
  overview: string;
  entries: ApiEntry[];
  /** `declare module '…' { … }` blocks: the types a package adds to its framework (`res.sse`, `reply.sse`). */
  augmentations: { module: string; file: string; signature: string }[];
}

/** Builds the model of every package whose `src/index.ts` exists. */
export function buildApiModel(root: string): ApiPackage[] {
  const present = API_PACKAGES.filter((dir) => existsSync(join(root, 'packages', dir, 'src', 'index.ts')));
  const points = present.flatMap((pkg) => [
    { key: pkg as string, pkg, file: join(root, 'packages', pkg, 'src', 'index.ts'), name: `@ssekit/${pkg}` },
    ...(API_SUBPATHS[pkg] ?? [])
      .map((sub) => ({
        key: `${pkg}-${sub}`,
        pkg,
        file: join(root, 'packages', pkg, 'src', `${sub}.ts`),
        name: `@ssekit/${pkg}/${sub}`,
      }))
      .filter((point) => existsSync(point.file)),
  ]);
  const entryFiles = points.map((point) => point.file);
  const options = compilerOptions(root);
  const program = ts.createProgram({ rootNames: entryFiles, options });
  const checker = program.getTypeChecker();
  const declarations = emitDeclarations(program);
  const links: Links = { byPackage: new Map(), first: new Map() };
  const model: ApiPackage[] = [];

  const packageOf = (fileName: string): string | undefined => {
    const rel = relative(join(root, 'packages'), fileName);
    const dir = rel.split(sep)[0];
    return rel.startsWith('..') || dir === undefined || !rel.includes(`${sep}src${sep}`) ? undefined : dir;
  };

  // Pass 1: names and anchors, so that docs can link to any entry of any package.
  const collected: { dir: string; pkg: string; name: string; index: ts.SourceFile; exports: ts.Symbol[] }[] = [];
  // The symbols each package's root entry exports: a subpath entry shows those as re-exported from the root.
  const rootTargets = new Map<string, Set<ts.Symbol>>();
  for (const { key: dir, pkg, file, name } of points) {
    const index = program.getSourceFile(file) as ts.SourceFile;
    const moduleSymbol = checker.getSymbolAtLocation(index);
    const exports = moduleSymbol === undefined ? [] : checker.getExportsOfModule(moduleSymbol);
    exports.sort((a, b) => compareNames(a.name, b.name));
    links.byPackage.set(dir, new Set(exports.map((symbol) => symbol.name)));
    for (const symbol of exports) if (!links.first.has(symbol.name)) links.first.set(symbol.name, dir);
    collected.push({ dir, pkg, name, index, exports });
    if (dir === pkg) {
      const targets = exports.map((e) => (e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e));
      rootTargets.set(pkg, new Set(targets));
    }
  }

  // Pass 2: the entries.
  for (const { dir, pkg, name, index, exports } of collected) {
    const entries: ApiEntry[] = [];
    const named = new Map<ts.Symbol, string>();
    for (const exported of exports) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      // `default` and `module.exports` (what require(esm) returns) are module shapes, never an export's own name.
      const shape = exported.name === 'default' || exported.name === 'module.exports';
      if (!shape && !named.has(target)) named.set(target, exported.name);
    }
    for (const exported of exports) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const decls = target.declarations ?? [];
      const first = decls[0];
      const origin = first === undefined ? undefined : packageOf(first.getSourceFile().fileName);
      const entry: ApiEntry = {
        name: exported.name,
        kind: kindOf(decls),
        doc: renderParts(target.getDocumentationComment(checker), links, dir),
        tags: target
          .getJsDocTags(checker)
          .filter((tag) => !IGNORED_TAGS.has(tag.name))
          .map((tag) => ({ name: tag.name, text: renderTag(tag, links, dir) })),
        signature: expandLocalTypeofs(signatureOf(decls, declarations), target, first, checker, links),
      };
      const other = named.get(target);
      if (other !== undefined && other !== exported.name) entry.aliasOf = other;
      if (origin !== undefined && origin !== pkg) entry.reexportedFrom = `@ssekit/${origin}`;
      else if (dir !== pkg && rootTargets.get(pkg)?.has(target)) entry.reexportedFrom = `@ssekit/${pkg}`;
      else if (first !== undefined && origin === undefined) entry.reexportedFrom = moduleNameOf(first.getSourceFile());
      entries.push(entry);
    }
    model.push({
      name,
      dir,
      overview: packageOverview(index, links, dir),
      entries,
      augmentations:
        dir === pkg ? augmentationsOf(program, join(root, 'packages', pkg, 'src'), declarations, root) : [],
    });
  }
  return model;
}

/** Renders the model as docs/api.md. */
export function renderApiMarkdown(model: readonly ApiPackage[]): string {
  const out: string[] = [];
  out.push('# API reference');
  out.push('');
  out.push(
    '<!-- Generated by `pnpm docs:api` (scripts/api-docs.ts) from the TSDoc in packages/*/src. Do not edit by hand:',
    '     test/docs/api.test.ts fails when this file is out of date with the sources. -->',
  );
  out.push('');
  out.push(
    'Every name each package exports, with its signature and documentation, generated from the sources. Guides: ' +
      '[getting started](getting-started.md), [Express](express.md), [Fastify](fastify.md), ' +
      '[scaling with Redis](scaling.md); the [index of the docs](README.md).',
  );
  out.push('');
  out.push(model.map((pkg) => `[\`${pkg.name}\`](#${packageAnchor(pkg.dir)})`).join(' · '));
  out.push('');
  for (const pkg of model) {
    out.push(`<a id="${packageAnchor(pkg.dir)}"></a>`);
    out.push('');
    out.push(`## \`${pkg.name}\``);
    out.push('');
    if (pkg.overview !== '') {
      out.push(pkg.overview);
      out.push('');
    }
    out.push('| Name | Kind | Summary |');
    out.push('| --- | --- | --- |');
    for (const entry of pkg.entries) {
      const summary = entry.aliasOf
        ? `The same as \`${entry.aliasOf}\`.`
        : entry.reexportedFrom
          ? `Re-exported from \`${entry.reexportedFrom}\`.`
          : firstSentence(entry.doc);
      out.push(`| [\`${entry.name}\`](#${anchorOf(pkg.dir, entry.name)}) | ${entry.kind} | ${tableCell(summary)} |`);
    }
    out.push('');
    for (const entry of pkg.entries) {
      out.push(`<a id="${anchorOf(pkg.dir, entry.name)}"></a>`);
      out.push('');
      out.push(`### \`${entry.name}\``);
      out.push('');
      if (entry.aliasOf !== undefined) {
        out.push(
          `*${entry.kind}*: ${entry.name === 'default' ? 'the default export is' : 'the same as'} ` +
            `[\`${entry.aliasOf}\`](#${anchorOf(pkg.dir, entry.aliasOf)}).`,
        );
        out.push('');
        continue;
      }
      if (entry.reexportedFrom?.startsWith('@ssekit/')) {
        const from = entry.reexportedFrom.slice('@ssekit/'.length).replace('/', '-');
        out.push(
          `*${entry.kind}*, re-exported from [\`${entry.reexportedFrom}\`](#${anchorOf(from, entry.name)}) so that ` +
            `you can import it from \`${pkg.name}\` as well.`,
        );
        out.push('');
        continue;
      }
      out.push(`*${entry.kind}*${entry.reexportedFrom ? `, re-exported from \`${entry.reexportedFrom}\`` : ''}`);
      out.push('');
      if (entry.doc !== '') {
        out.push(entry.doc);
        out.push('');
      }
      out.push(...renderTags(entry.tags));
      if (entry.signature !== '') {
        out.push('```ts');
        out.push(entry.signature);
        out.push('```');
        out.push('');
      }
    }
    if (pkg.augmentations.length > 0) {
      out.push(`### Types \`${pkg.name}\` adds to other modules`);
      out.push('');
      out.push(
        'Declaration merging: importing the package adds these members to the framework types, so the compiler ' +
          'knows about them without casts.',
      );
      out.push('');
      for (const augmentation of pkg.augmentations) {
        const what = augmentation.module === 'global' ? 'declare global' : `declare module '${augmentation.module}'`;
        out.push(`\`${what}\`, from \`${augmentation.file}\`:`);
        out.push('');
        out.push('```ts');
        out.push(augmentation.signature);
        out.push('```');
        out.push('');
      }
    }
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

/** Generates the full text of docs/api.md. */
export function generateApiDocs(root: string): string {
  return renderApiMarkdown(buildApiModel(root));
}

// ---------------------------------------------------------------------------------------------------------------

const IGNORED_TAGS = new Set(['packageDocumentation', 'internal', 'module']);

function compilerOptions(root: string): ts.CompilerOptions {
  return {
    ...readBaseCompilerOptions(root),
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    declarationMap: false,
    sourceMap: false,
    stripInternal: true,
    // Declarations are kept in memory; the directory only has to be distinct from the sources.
    outDir: join(root, '.api-docs-out'),
    rootDir: root,
    typeRoots: [join(root, 'node_modules/@types')],
  };
}

/** Emits `.d.ts` text for every source file of the program, in memory, keyed by source file name. */
function emitDeclarations(program: ts.Program): Map<string, ts.SourceFile> {
  const out = new Map<string, ts.SourceFile>();
  program.emit(
    undefined,
    (fileName, text, _bom, _onError, sourceFiles) => {
      if (!fileName.endsWith('.d.ts') || sourceFiles === undefined) return;
      for (const source of sourceFiles) {
        out.set(source.fileName, ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true));
      }
    },
    undefined,
    true,
  );
  return out;
}

function kindOf(declarations: readonly ts.Declaration[]): string {
  const kinds = new Set<string>();
  for (const d of declarations) {
    if (ts.isFunctionDeclaration(d)) kinds.add('function');
    else if (ts.isClassDeclaration(d)) kinds.add('class');
    else if (ts.isInterfaceDeclaration(d)) kinds.add('interface');
    else if (ts.isTypeAliasDeclaration(d)) kinds.add('type');
    else if (ts.isEnumDeclaration(d)) kinds.add('enum');
    else if (ts.isModuleDeclaration(d)) kinds.add('namespace');
    else if (ts.isVariableDeclaration(d)) {
      kinds.add(d.parent.flags & ts.NodeFlags.Const ? 'const' : 'variable');
    } else if (ts.isExportAssignment(d)) kinds.add(exportAssignmentKind(d));
    else kinds.add(ts.SyntaxKind[d.kind]);
  }
  return [...kinds].join(' + ');
}

function exportAssignmentKind(d: ts.ExportAssignment): string {
  const e = d.expression;
  if (ts.isFunctionExpression(e) || ts.isArrowFunction(e)) return 'function';
  if (ts.isClassExpression(e)) return 'class';
  return 'const';
}

/** The declaration of `declarations` as the emitted `.d.ts` shows it. */
function signatureOf(declarations: readonly ts.Declaration[], emitted: Map<string, ts.SourceFile>): string {
  const first = declarations[0];
  if (first === undefined) return '';
  const sourceFile = first.getSourceFile();
  if (sourceFile.isDeclarationFile) {
    // Re-exported from a dependency's .d.ts: show it as written there.
    return dedent(declarations.map((d) => statementOf(d).getText(sourceFile)).join('\n'));
  }
  const dts = emitted.get(sourceFile.fileName);
  if (dts === undefined) return '';
  const isDefault = ts.isExportAssignment(first) || hasDefaultModifier(first);
  const name = isDefault && ts.isExportAssignment(first) ? undefined : declarationName(first);
  const parts: string[] = [];
  for (const statement of dts.statements) {
    if (name !== undefined && statementDeclares(statement, name)) parts.push(printStatement(statement, dts));
    else if (name === undefined && ts.isExportAssignment(statement) && !statement.isExportEquals) {
      // `export default <expression>` emits `declare const _default: T; export default _default;`.
      const local = ts.isIdentifier(statement.expression) ? statement.expression.text : undefined;
      const declared = local === undefined ? undefined : dts.statements.find((s) => statementDeclares(s, local));
      if (declared !== undefined) parts.push(printStatement(declared, dts));
      parts.push(statement.getText(dts));
    }
  }
  return dedent(parts.join('\n\n'));
}

/**
 * `const ssekit: typeof ssekitPlugin` says nothing when `ssekitPlugin` is not exported: print the type itself.
 */
function expandLocalTypeofs(
  signature: string,
  target: ts.Symbol,
  declaration: ts.Declaration | undefined,
  checker: ts.TypeChecker,
  links: Links,
): string {
  const local = /typeof ([A-Za-z_$][\w$]*)/.exec(signature);
  if (local === null || declaration === undefined || !ts.isVariableDeclaration(declaration)) return signature;
  if ([...links.byPackage.values()].some((names) => names.has(local[1] as string))) return signature;
  const type = checker.typeToString(
    checker.getTypeOfSymbolAtLocation(target, declaration),
    undefined,
    ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope,
  );
  return `const ${target.name}: ${type};`;
}

function statementOf(node: ts.Node): ts.Node {
  let current: ts.Node = node;
  while (current.parent !== undefined && !ts.isSourceFile(current.parent) && !ts.isModuleBlock(current.parent)) {
    current = current.parent;
  }
  return current;
}

function declarationName(d: ts.Declaration): string | undefined {
  const name = (d as { name?: ts.Node }).name;
  return name !== undefined && ts.isIdentifier(name) ? name.text : undefined;
}

function hasDefaultModifier(node: ts.Node): boolean {
  return (
    ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)
  );
}

function statementDeclares(statement: ts.Statement, name: string): boolean {
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.some((d) => ts.isIdentifier(d.name) && d.name.text === name);
  }
  const own = (statement as { name?: ts.Node }).name;
  return own !== undefined && ts.isIdentifier(own) && own.text === name;
}

/** A `.d.ts` statement without `export`/`declare`, and a class without its private members. */
function printStatement(statement: ts.Statement, dts: ts.SourceFile): string {
  let text: string;
  if (ts.isClassDeclaration(statement)) {
    const open = statement.members.pos;
    const header = dts.text.slice(statement.getStart(dts), open);
    const members = statement.members
      .filter((m) => !isPrivate(m))
      .map((m) => m.getFullText(dts).replace(/^\s*\n/, '\n'))
      .join('');
    text = `${header}${members}\n}`;
  } else {
    text = statement.getText(dts);
  }
  return text
    .replace(/^export\s+/, '')
    .replace(/^default\s+/, 'default ')
    .replace(/^declare\s+/, '');
}

function isPrivate(member: ts.ClassElement): boolean {
  if (member.name !== undefined && ts.isPrivateIdentifier(member.name)) return true;
  return (ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : []).some(
    (m) => m.kind === ts.SyntaxKind.PrivateKeyword,
  );
}

/** The emitter indents with 4 spaces; the docs use 2. Leading indentation of the first line is removed. */
function dedent(text: string): string {
  return text.replace(/^((?: {4})+)/gm, (spaces) => ' '.repeat(spaces.length / 2)).trim();
}

function moduleNameOf(sourceFile: ts.SourceFile): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(sourceFile.fileName.split(sep).join('/'));
  return match?.[1] ?? sourceFile.fileName;
}

function augmentationsOf(
  program: ts.Program,
  srcDir: string,
  emitted: Map<string, ts.SourceFile>,
  root: string,
): ApiPackage['augmentations'] {
  const found: ApiPackage['augmentations'] = [];
  const files = program
    .getSourceFiles()
    .filter((f) => f.fileName.startsWith(`${srcDir}${sep}`) || f.fileName.startsWith(`${srcDir}/`))
    .sort((a, b) => compareNames(a.fileName, b.fileName));
  for (const file of files) {
    const dts = emitted.get(file.fileName);
    if (dts === undefined) continue;
    for (const statement of dts.statements) {
      if (ts.isModuleDeclaration(statement) && ts.isStringLiteral(statement.name)) {
        found.push({
          module: statement.name.text,
          file: relative(root, file.fileName).split(sep).join('/'),
          signature: dedent(statement.getText(dts).replace(/^export\s+/, '')),
        });
      } else if (ts.isModuleDeclaration(statement) && statement.name.text === 'global') {
        found.push({
          module: 'global',
          file: relative(root, file.fileName).split(sep).join('/'),
          signature: dedent(statement.getText(dts)),
        });
      }
    }
  }
  return found;
}

// --- doc comments to Markdown ----------------------------------------------------------------------------------

function renderParts(parts: readonly ts.SymbolDisplayPart[], links: Links, dir: string): string {
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as ts.SymbolDisplayPart;
    if (part.kind === 'link' && part.text.startsWith('{@link')) {
      // {@link Target} or {@link Target | text}: parts are `{@link `, linkName, [linkText], `}`.
      let target = '';
      let label = '';
      i++;
      for (; i < parts.length; i++) {
        const inner = parts[i] as ts.SymbolDisplayPart;
        if (inner.kind === 'link' && inner.text === '}') break;
        if (inner.kind === 'linkName') target += inner.text;
        else if (inner.kind === 'linkText') label += inner.text;
      }
      out += linkTo(target.trim(), label.trim(), links, dir);
    } else {
      out += part.text;
    }
  }
  return out.trim();
}

/** Names each package exports, so `{@link X}` can point at the right entry. */
interface Links {
  byPackage: Map<string, Set<string>>;
  /** The first package (in {@link API_PACKAGES} order) that exports a name. */
  first: Map<string, string>;
}

function linkTo(target: string, label: string, links: Links, dir: string): string {
  // TypeScript reports a link it cannot resolve from the comment's scope as text only: the text is the target.
  if (target === '' && label !== '') return linkTo(label, '', links, dir);
  const text = label === '' ? `\`${target}\`` : label;
  const head = target.split('.')[0] as string;
  // Prefer the entry of the package being documented; else the first package that exports the name.
  const home = links.byPackage.get(dir)?.has(head) ? dir : links.first.get(head);
  return home === undefined ? text : `[${text}](#${anchorOf(home, head)})`;
}

function renderTag(tag: ts.JSDocTagInfo, links: Links, dir: string): string {
  const parts = tag.text ?? [];
  if (tag.name === 'param' || tag.name === 'typeParam') {
    const nameIndex = parts.findIndex((p) => p.kind === 'parameterName' || p.kind === 'typeParameterName');
    if (nameIndex !== -1) {
      const name = (parts[nameIndex] as ts.SymbolDisplayPart).text;
      const rest = renderParts(parts.slice(nameIndex + 1), links, dir).replace(/^[-\s]+/, '');
      return `\`${name}\`${rest === '' ? '' : `: ${rest}`}`;
    }
  }
  return renderParts(parts, links, dir);
}

const TAG_TITLES: Record<string, string> = {
  param: 'Parameters',
  typeParam: 'Type parameters',
  returns: 'Returns',
  throws: 'Throws',
  example: 'Example',
  default: 'Default',
  defaultValue: 'Default',
  see: 'See also',
  deprecated: 'Deprecated',
  remarks: 'Remarks',
};

function renderTags(tags: readonly { name: string; text: string }[]): string[] {
  const out: string[] = [];
  const order = [...new Set(tags.map((t) => t.name))];
  for (const name of order) {
    const texts = tags.filter((t) => t.name === name).map((t) => t.text);
    const title = TAG_TITLES[name] ?? `@${name}`;
    if (name === 'example') {
      for (const text of texts) {
        out.push(`**${title}**`, '', '```ts', text.replace(/^```\w*\n?|\n?```$/g, ''), '```', '');
      }
      continue;
    }
    if (texts.length === 1 && name !== 'param' && name !== 'throws') {
      out.push(`**${title}:** ${texts[0]}`, '');
      continue;
    }
    out.push(`**${title}:**`, '');
    for (const text of texts) out.push(`- ${text.replace(/\n/g, '\n  ')}`);
    out.push('');
  }
  return out;
}

/** The `@packageDocumentation` comment of an entry point, as Markdown. */
function packageOverview(index: ts.SourceFile, links: Links, dir: string): string {
  for (const match of index.text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    const body = match[1] as string;
    if (!body.includes('@packageDocumentation')) continue;
    const text = body
      .split('\n')
      .map((line) => line.replace(/^\s*\* ?/, ''))
      .join('\n')
      .replace(/@packageDocumentation/, '')
      .trim();
    return text.replace(/\{@link\s+([^}|\s]+)\s*(?:\|\s*([^}]*))?\}/g, (_m, target: string, label?: string) =>
      linkTo(target, (label ?? '').trim(), links, dir),
    );
  }
  return '';
}

function firstSentence(doc: string): string {
  const paragraph = (doc.split(/\n\s*\n/)[0] ?? '').replace(/\s+/g, ' ').trim();
  // A sentence ends at a period followed by a capital or the end: "e.g. for heartbeats" does not end one.
  const match = /^(.+?[.!?])(?=\s+[A-Z`]|$)/.exec(paragraph);
  return match?.[1] ?? paragraph;
}

function tableCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function compareNames(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
}

function packageAnchor(dir: string): string {
  return `ssekit-${dir}`;
}

function anchorOf(dir: string, name: string): string {
  return `${dir}-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
}

// --- command line ----------------------------------------------------------------------------------------------

function main(): void {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const target = join(root, 'docs', 'api.md');
  const text = generateApiDocs(root);
  if (process.argv.includes('--check')) {
    const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
    if (current !== text) {
      console.error('docs/api.md is out of date with the sources: run `pnpm docs:api` and commit the result.');
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(target, text);
  console.log(`wrote ${relative(process.cwd(), target)}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
