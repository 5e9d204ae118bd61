import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The README stays short and every document's relative links lead somewhere. Only Markdown links are
// checked (code paths in backticks are not), anchors are ignored, and no document cites the
// git-ignored .scratch/ folder.
const root = path.resolve(import.meta.dirname, '..', '..');

function markdownFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(full);
    return entry.name.endsWith('.md') ? [full] : [];
  });
}

const docs = [path.join(root, 'README.md'), ...markdownFiles(path.join(root, 'docs'))];

/** Relative link targets of inline Markdown links `[text](target)`, outside fenced code blocks. */
function relativeLinks(markdown: string): string[] {
  const text = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return [...text.matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'));
}

describe('README and docs', () => {
  it('README.md has at most 250 lines', () => {
    const lines = fs.readFileSync(path.join(root, 'README.md'), 'utf8').replace(/\n$/, '').split('\n');
    expect(lines.length).toBeLessThanOrEqual(250);
  });

  it('every relative Markdown link in README.md and docs/**/*.md resolves to an existing file or folder', () => {
    const broken: string[] = [];
    for (const file of docs) {
      for (const target of relativeLinks(fs.readFileSync(file, 'utf8'))) {
        const resolved = path.resolve(path.dirname(file), decodeURI(target.split('#')[0]!));
        if (!fs.existsSync(resolved)) broken.push(`${path.relative(root, file)}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('no document cites .scratch/', () => {
    const citing = docs.filter((file) => fs.readFileSync(file, 'utf8').includes('.scratch'));
    expect(citing.map((f) => path.relative(root, f))).toEqual([]);
  });
});
