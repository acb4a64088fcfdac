import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The deployment tests run the proxy configs of docs/deployment.md, read from the page itself so that the page and
// the tests cannot drift apart. In the page, a config is the fenced block right after a marker line
// `<!-- deployment-test: NAME -->` (invisible once rendered). The tests then replace only addresses, ports,
// certificate paths and (to keep the suite short) timeouts, each replacement required to match.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEPLOYMENT_DOC = 'docs/deployment.md';

/** The text of docs/deployment.md. */
export function deploymentDoc(): string {
  return readFileSync(join(root, DEPLOYMENT_DOC), 'utf8');
}

/** Every config of the page, by marker name. */
export function docConfigs(markdown = deploymentDoc()): Map<string, string> {
  const configs = new Map<string, string>();
  const lines = markdown.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!-- deployment-test: ([\w-]+) -->$/.exec((lines[i] as string).trim());
    if (marker === null) continue;
    const name = marker[1] as string;
    const open = /^(\s*)(`{3,})\w*\s*$/.exec(lines[i + 1] ?? '');
    if (open === null) throw new Error(`${DEPLOYMENT_DOC}:${i + 1}: marker "${name}" is not followed by a fence`);
    const indent = (open[1] as string).length;
    const body: string[] = [];
    let j = i + 2;
    for (; j < lines.length && (lines[j] as string).trim() !== open[2]; j++)
      body.push((lines[j] as string).slice(indent));
    if (j === lines.length) throw new Error(`${DEPLOYMENT_DOC}:${i + 2}: the fence of "${name}" is never closed`);
    if (configs.has(name)) throw new Error(`${DEPLOYMENT_DOC}: marker "${name}" appears twice`);
    configs.set(name, `${body.join('\n')}\n`);
  }
  return configs;
}

/** The config marked `name` in docs/deployment.md. */
export function docConfig(name: string): string {
  const config = docConfigs().get(name);
  if (config === undefined) throw new Error(`${DEPLOYMENT_DOC} has no config marked <!-- deployment-test: ${name} -->`);
  return config;
}

/** Replaces each `[from, to]` in `config`; fails when a `from` does not occur, so a changed page fails loudly. */
export function fill(config: string, replacements: [from: string, to: string][]): string {
  let out = config;
  for (const [from, to] of replacements) {
    if (!out.includes(from)) throw new Error(`The config has no ${JSON.stringify(from)} to replace:\n${config}`);
    out = out.split(from).join(to);
  }
  return out;
}

/** Removes the one line of `config` that contains `fragment` (to show what the config does without it). */
export function withoutLine(config: string, fragment: string): string {
  const lines = config.split('\n');
  const matching = lines.filter((line) => line.includes(fragment));
  if (matching.length !== 1)
    throw new Error(`Expected one line with ${JSON.stringify(fragment)}, got ${matching.length}`);
  return lines.filter((line) => !line.includes(fragment)).join('\n');
}
