/**
 * Every type that appears in a public signature is exported, so users can name it: walks the
 * shipped declarations (dist/, built by `npm run build`) of each entry point with the TypeScript
 * compiler and lists named types referenced by exported declarations but not exported themselves.
 * `@internal` members and private fields are not public signatures and are skipped.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));
const ENTRIES = ["adapters/auto.d.ts", "adapters/bun/index.d.ts", "adapters/node/index.d.ts", "adapters/deno/index.d.ts", "adapters/native/index.d.ts", "src/index.d.ts"];

function isInternal(node: ts.Node): boolean {
  return ts.getJSDocTags(node).some((tag) => tag.tagName.text === "internal");
}

function isPrivate(node: ts.Node): boolean {
  if (ts.isClassElement(node) && node.name !== undefined && ts.isPrivateIdentifier(node.name)) return true;
  const modifiers = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  return modifiers?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword) ?? false;
}

/** Names of the package's own types that `entry`'s public declarations use but it does not export. */
function unexportedTypes(entry: string): string[] {
  const program = ts.createProgram([DIST + entry], { types: [], skipLibCheck: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(DIST + entry);
  if (source === undefined) throw new Error(`cannot read ${entry}`);
  const moduleSymbol = checker.getSymbolAtLocation(source) as ts.Symbol;
  const resolve = (symbol: ts.Symbol): ts.Symbol => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const exported = new Set(checker.getExportsOfModule(moduleSymbol).map(resolve));
  const ours = (symbol: ts.Symbol): boolean => symbol.declarations?.some((d) => d.getSourceFile().fileName.startsWith(DIST)) ?? false;
  const missing = new Set<string>();
  const visited = new Set<ts.Node>();
  const walk = (node: ts.Node): void => {
    if (visited.has(node) || isInternal(node) || isPrivate(node)) return;
    visited.add(node);
    if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node) || ts.isTypeQueryNode(node)) {
      const name = ts.isTypeReferenceNode(node) ? node.typeName : ts.isTypeQueryNode(node) ? node.exprName : node.expression;
      const symbol = checker.getSymbolAtLocation(name);
      if (symbol !== undefined) {
        const target = resolve(symbol);
        const isTypeParameter = (target.flags & ts.SymbolFlags.TypeParameter) !== 0;
        if (!isTypeParameter && ours(target) && !exported.has(target)) missing.add(target.getName());
      }
    }
    ts.forEachChild(node, walk);
  };
  for (const symbol of exported) for (const declaration of symbol.declarations ?? []) if (declaration.getSourceFile().fileName.startsWith(DIST)) walk(declaration);
  return [...missing].sort();
}

describe("public declarations", () => {
  for (const entry of ENTRIES) {
    test(`${entry}: every type in a public signature is exported`, () => {
      if (!existsSync(DIST + entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
      expect(unexportedTypes(entry)).toEqual([]);
    });
  }
});
