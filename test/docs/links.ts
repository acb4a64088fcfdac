/**
 * Relative links and anchors of Markdown files, checked the way GitHub renders them: a link to `other.md#section`
 * must point at an existing file with a heading (or an explicit `<a id>`) that produces that anchor.
 */

/** One relative link of a Markdown file. */
export interface Link {
  line: number;
  /** The link target as written, e.g. `deployment.md#nginx` or `#install`. */
  target: string;
}

/** The anchors a Markdown file defines: its headings (GitHub's slugs, with -1, -2 for repeats) and `<a id>`s. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text: line } of proseLines(markdown)) {
    for (const id of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id[1] as string);
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading === null) continue;
    const slug = slugOf(heading[1] as string);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** GitHub's heading slug: lower case, punctuation removed, spaces to hyphens. */
export function slugOf(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link in a heading keeps its text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/`/g, '');
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** Relative links (`[text](target)`, not http(s), not mailto) outside code blocks and inline code. */
export function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  for (const { text: line, index } of proseLines(markdown)) {
    const text = line.replace(/(`+)(?:(?!\1).)+\1/g, '');
    for (const match of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1] as string;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      links.push({ line: index + 1, target });
    }
  }
  return links;
}

/** The lines of `markdown` outside fenced code blocks, with their 0-based index. */
function proseLines(markdown: string): { text: string; index: number }[] {
  const lines: { text: string; index: number }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, index) => {
    const fenceMatch = /^\s*(`{3,}|~{3,})/.exec(text);
    if (fenceMatch !== null) {
      const marker = fenceMatch[1] as string;
      if (fence === undefined) fence = marker;
      else if (marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return;
    }
    if (fence === undefined) lines.push({ text, index });
  });
  return lines;
}
