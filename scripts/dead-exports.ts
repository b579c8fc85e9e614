/**
 * Lists exports of src/ that no other file names (src, test, bench, scripts): each is either dead
 * code or something that should not be exported. A name is "used" when another file mentions it
 * as a whole word, which errs on the side of keeping things. Usage: node --import tsx scripts/dead-exports.ts
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (name === 'node_modules') return [];
    if (statSync(p).isDirectory()) return files(p);
    return /\.(ts|js)$/.test(p) ? [p] : [];
  });
}

function exportedNames(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const names: string[] = [];
  for (const st of sf.statements) {
    const exported =
      ts.canHaveModifiers(st) && ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (
      ts.isExportDeclaration(st) &&
      !st.moduleSpecifier &&
      st.exportClause &&
      ts.isNamedExports(st.exportClause)
    ) {
      for (const e of st.exportClause.elements) names.push(e.name.text);
    }
    if (!exported) continue;
    if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) names.push(d.name.text);
    } else if ((st as { name?: ts.Identifier }).name) {
      names.push((st as unknown as { name: ts.Identifier }).name.text);
    }
  }
  return names;
}

const sources = files('src');
const everything = [...sources, ...files('test'), ...files('bench'), ...files('scripts'), ...files('web')];
const text = new Map(everything.map((f) => [f, readFileSync(f, 'utf8')]));
let dead = 0;
for (const file of sources) {
  for (const name of exportedNames(file)) {
    const word = new RegExp(`\\b${name}\\b`);
    const usedElsewhere = everything.some((f) => f !== file && word.test(text.get(f)!));
    if (usedElsewhere) continue;
    const usedInside = (text.get(file)!.match(new RegExp(`\\b${name}\\b`, 'g')) ?? []).length > 1;
    console.log(`${file} ${name}${usedInside ? ' (used inside its file: drop the export)' : ''}`);
    dead++;
  }
}
console.log(`${dead} exports no other file uses`);
