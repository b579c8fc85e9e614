/**
 * Lists functions longer than the style limit (rules: functions <= ~70 lines). A function that only
 * registers routes on a Fastify instance (a plugin: its first parameter is the app) is counted
 * apart, because its length is the sum of the handlers it registers, each of which is counted on
 * its own (the count: 45 over 70 lines, 26 of them outside such closures). Usage: node --import tsx scripts/long-functions.ts [dir] [--limit N]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const LIMIT_LINES_DEFAULT = 70;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

function nameOf(node: ts.Node, sf: ts.SourceFile): string {
  const named = node as { name?: ts.Node };
  if (named.name) return named.name.getText(sf);
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(sf);
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(sf);
  if (parent && ts.isCallExpression(parent)) return `${parent.expression.getText(sf).slice(0, 40)}(...)`;
  return '<anonymous>';
}

function registersRoutes(node: ts.FunctionLikeDeclaration, sf: ts.SourceFile): boolean {
  const first = node.parameters[0];
  if (!first) return false;
  const type = first.type?.getText(sf) ?? '';
  // `return async (app) => { app.get(...) }`: the plugin closure a route module returns
  const app = first.name.getText(sf) === 'app';
  return app || /FastifyInstance|FastifyPluginAsync/.test(type) || /Routes$/.test(nameOf(node, sf));
}

const args = process.argv.slice(2);
const limitAt = args.indexOf('--limit');
const limit = limitAt >= 0 ? Number(args[limitAt + 1]) : LIMIT_LINES_DEFAULT;
const root = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--limit') ?? 'src';
const long: { where: string; lines: number; routes: boolean }[] = [];
for (const file of files(root)) {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body) {
      const fn = node as ts.FunctionLikeDeclaration;
      const start = sf.getLineAndCharacterOfPosition(fn.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(fn.getEnd()).line;
      const lines = end - start + 1;
      if (lines > limit)
        long.push({
          where: `${file}:${start + 1} ${nameOf(fn, sf)}`,
          lines,
          routes: registersRoutes(fn, sf),
        });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}
long.sort((a, b) => b.lines - a.lines);
for (const f of long)
  console.log(`${String(f.lines).padStart(4)} ${f.routes ? 'routes ' : '       '}${f.where}`);
const outside = long.filter((f) => !f.routes).length;
console.log(`${long.length} functions over ${limit} lines, ${outside} outside route-registration closures`);
