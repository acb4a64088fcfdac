/**
 * Generates docs/api/, the API reference: TypeDoc with typedoc-plugin-markdown, one Markdown page per entry point of
 * every package (`@ssekit/core`, `@ssekit/core/adapter`, …, as each package.json's `exports` lists them) and an
 * index, docs/api/README.md.
 *
 *   pnpm docs:api        rewrites docs/api/
 *
 * test/docs/api.test.ts generates into a temporary directory and compares with the committed pages, so the output
 * depends on the sources only: no source links (they would name a git revision), no dates, no absolute paths.
 * TypeDoc's warnings (a `{@link}` that resolves to nothing or to an unexported name, an exported name without a doc
 * comment, a type the reference uses that no entry point exports) are problems: the command fails on them.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Application,
  type CommentDisplayPart,
  Converter,
  type DeclarationReflection,
  LogLevel,
  type ProjectReflection,
  ReflectionKind,
  type TypeDocOptions,
} from 'typedoc';
import type { PluginOptions } from 'typedoc-plugin-markdown';
import ts from 'typescript';
import { type PackageEntry, packageEntries } from './package-entries.js';

const root = resolve(import.meta.dirname, '..');

/** Where `pnpm docs:api` writes the reference. */
export const API_REFERENCE_DIR = join(root, 'docs', 'api');

/** One documented entry point and the package it belongs to. */
export interface ApiEntryPoint extends PackageEntry {
  /** `packages/<dir>`, absolute. */
  readonly packageDir: string;
  /** The package's name (`@ssekit/core` for `@ssekit/core/adapter`). */
  readonly packageName: string;
}

/** Every entry point of every package, in the order of packages/ and then of each package's `exports`. */
export function apiEntryPoints(): ApiEntryPoint[] {
  return readdirSync(join(root, 'packages'), { withFileTypes: true })
    .filter((dir) => dir.isDirectory())
    .map((dir) => join(root, 'packages', dir.name))
    .sort()
    .flatMap((packageDir) => {
      const { name: packageName } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
        name: string;
      };
      return packageEntries(packageDir).map((entry) => ({ ...entry, packageDir, packageName }));
    });
}

/** What one run reported: TypeDoc's warnings and errors, empty when the reference is clean. */
export interface ApiReferenceRun {
  readonly problems: string[];
}

/** Writes the reference into `outDir`, emptied first. */
export async function generateApiReference(outDir: string): Promise<ApiReferenceRun> {
  const entries = apiEntryPoints();
  const entryOf = new Map(entries.map((entry) => [normalize(entry.source), entry]));

  const options: Partial<TypeDocOptions & PluginOptions> = {
    name: 'ssekit API reference',
    plugin: ['typedoc-plugin-markdown'],
    tsconfig: join(root, 'scripts', 'tsconfig.api-reference.json'),
    entryPoints: entries.map((entry) => entry.source),
    entryPointStrategy: 'resolve',
    out: outDir,
    readme: join(root, 'scripts', 'api-reference-index.md'),
    mergeReadme: true,
    disableSources: true,
    disableGit: true,
    githubPages: false,
    excludeInternal: true,
    excludePrivate: true,
    excludeExternals: true,
    // `pnpm typecheck` reports type errors; the reference only reads the declarations.
    skipErrorChecking: true,
    // Every exported name must have a doc comment (checked below, see `undocumentedExports`). TypeDoc's own check
    // (`notDocumented`) covers members as well, and cannot tell a function from a method: about 75 properties and
    // method signatures (most in the broker contract's envelope types) say what they are by their name and type.
    validation: { notExported: true, invalidLink: true, rewrittenLink: true, notDocumented: false },
    // One page per entry point, as GitHub renders Markdown: the reader finds a name with the browser's search.
    outputFileStrategy: 'modules',
    entryFileName: 'README.md',
    hideBreadcrumbs: true,
    hidePageHeader: true,
    useCodeBlocks: true,
    parametersFormat: 'table',
    interfacePropertiesFormat: 'table',
    classPropertiesFormat: 'table',
    typeDeclarationFormat: 'table',
    indexFormat: 'table',
    // The plugin's own anchors, written out: its slugs for a page that has `Hub.stats` and `HubStats` differ from
    // the heading slugs GitHub makes, so links target `<a id>`s rather than headings.
    useHTMLAnchors: true,
    logLevel: LogLevel.Warn,
  };

  const app = await Application.bootstrapWithPlugins(options);
  const problems: string[] = [];
  const log = app.logger.log.bind(app.logger);
  app.logger.log = (message, level) => {
    if (level >= LogLevel.Warn) problems.push(`${LogLevel[level]}: ${message}`);
    log(message, level);
  };
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection: DeclarationReflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const file = context.project.getSymbolIdFromReflection(reflection)?.fileName;
    const entry = file === undefined ? undefined : entryOf.get(file);
    if (entry === undefined) return;
    // TypeDoc names a module after its path (`core/src/adapter`); the reference names it as users import it.
    reflection.name = entry.specifier;
    if (entry.name === 'index') appendAugmentations(reflection, entry, context.program);
  });

  const project = await app.convert();
  if (project === undefined) return { problems: [...problems, 'Error: TypeDoc could not convert the sources.'] };
  app.validate(project);
  for (const name of undocumentedExports(project)) app.logger.warn(`${name} has no doc comment.`);
  rmSync(outDir, { recursive: true, force: true });
  await app.generateOutputs(project);
  return { problems };
}

/**
 * TypeDoc leaves out `declare global` and `declare module '…'` blocks, yet they are API: importing `@ssekit/express`
 * types `res.sse`, importing `@ssekit/fastify` types `app.sse`, `reply.sse` and the route option `sse`. They are shown
 * on their package's root page as written in the source.
 */
function appendAugmentations(reflection: DeclarationReflection, entry: ApiEntryPoint, program: ts.Program): void {
  const srcDir = normalize(join(entry.packageDir, 'src')) + '/';
  const parts: CommentDisplayPart[] = [];
  for (const file of program.getSourceFiles()) {
    if (!normalize(file.fileName).startsWith(srcDir)) continue;
    for (const statement of file.statements) {
      if (!ts.isModuleDeclaration(statement)) continue;
      const global = (statement.flags & ts.NodeFlags.GlobalAugmentation) !== 0;
      if (!global && !ts.isStringLiteral(statement.name)) continue;
      const path = relative(root, file.fileName).split(sep).join('/');
      parts.push(
        { kind: 'text', text: `\n\nFrom \`${path}\`:\n\n` },
        { kind: 'code', text: `\`\`\`ts\n${statement.getText(file)}\n\`\`\`` },
      );
    }
  }
  if (parts.length === 0 || reflection.comment === undefined) return;
  reflection.comment.summary.push(
    {
      kind: 'text',
      text:
        '\n\n## Types added to the framework\n\nImporting the package merges these declarations into the ' +
        "framework's types, so the compiler knows the members below without a cast.",
    },
    ...parts,
  );
}

/** `<entry point>.<name>` of each exported name without a doc comment (re-exports aside). */
function undocumentedExports(project: ProjectReflection): string[] {
  const missing: string[] = [];
  for (const module of project.children ?? []) {
    for (const child of module.children ?? []) {
      if (child.kindOf(ReflectionKind.Reference)) continue;
      const documented = child.hasComment() || (child.signatures ?? []).some((signature) => signature.hasComment());
      if (!documented) missing.push(`${module.name}.${child.name}`);
    }
  }
  return missing;
}

function normalize(path: string): string {
  return path.split(sep).join('/');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const run = await generateApiReference(API_REFERENCE_DIR);
  if (run.problems.length > 0) {
    console.error(`TypeDoc reported ${run.problems.length} problem(s) (above): fix the TSDoc they name.`);
    process.exit(1);
  }
  console.log(`Wrote ${relative(process.cwd(), API_REFERENCE_DIR) || '.'}/.`);
}
