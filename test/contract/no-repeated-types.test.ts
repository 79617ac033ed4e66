import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// `PlanBillTerms` (gateway/mqtt/topics.ts) repeated the seven amounts of `BillAmounts` (gateway/bill/bill.ts) field
// by field: two types for one thing, free to drift apart. The rule for the whole tree: no interface declares, as its
// own members, every member (same name, same type text) of another interface of 5 members or more; it extends it.
const ROOT = new URL('../..', import.meta.url).pathname;
const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
});

interface Decl { name: string; file: string; members: Map<string, string> }

function interfaces(): Decl[] {
  const out: Decl[] = [];
  for (const file of [...files(join(ROOT, 'gateway')), ...files(join(ROOT, 'plugins'))]) {
    const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isInterfaceDeclaration(node)) {
        const members = new Map<string, string>();
        for (const m of node.members) if (ts.isPropertySignature(m) && m.type) members.set(m.name.getText(src) + (m.questionToken ? '?' : ''), m.type.getText(src).replace(/\s+/g, ' '));
        out.push({ name: node.name.text, file: relative(ROOT, file), members });
      }
      ts.forEachChild(node, visit);
    };
    visit(src);
  }
  return out;
}

describe('one type for one thing', () => {
  it('no interface repeats every member of another one of 5 or more members (it extends it instead)', () => {
    const all = interfaces();
    const repeats: string[] = [];
    for (const a of all) {
      if (a.members.size < 5) continue;
      for (const b of all) {
        if (a === b) continue;
        if ([...a.members].every(([k, t]) => b.members.get(k) === t)) repeats.push(`${b.name} (${b.file}) repeats ${a.name} (${a.file})`);
      }
    }
    expect(repeats).toEqual([]);
  });
});
