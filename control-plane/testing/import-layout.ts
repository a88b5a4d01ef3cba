// The layout rules of DESIGN.md, as a check the test suite runs: inside
// control-plane/ a folder imports only folders below it in the list, never
// upward and never in a circle; product code never imports the testing/
// folder or the tests; proto/ depends on nothing of ours, and the agent on
// nothing of the control plane's. Files are read as text: an import is any
// `from '...'`, `import '...'` or `import('...')` with a relative specifier.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** control-plane/ folders from the top down; server.ts and other root files sit between cli and api. */
export const CONTROL_PLANE_ORDER = ['cli', '', 'api', 'http', 'controllers', 'nodes', 'ipam', 'schema', 'pki', 'secrets', 'raft', 'store'];

export interface SourceFile {
  /** Repository-relative path with forward slashes, e.g. "control-plane/api/api-node.ts". */
  path: string;
  text: string;
}

const IMPORT = /(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

export function importsOf(file: SourceFile): string[] {
  const out: string[] = [];
  for (const m of file.text.matchAll(IMPORT)) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file.path), m[1]!));
    out.push(target.replace(/\.js$/, '.ts'));
  }
  return out;
}

const isTest = (p: string): boolean => /\.test\.ts$/.test(p) || p.startsWith('test/') || p.startsWith('bench/');

function area(p: string): { top: string; folder?: string } {
  const [top, second] = p.split('/');
  if (top !== 'control-plane') return { top: top! };
  return { top, folder: second && second.endsWith('.ts') ? '' : second };
}

/** Every rule broken, one line each: "A imports B: <rule>". */
export function layoutProblems(files: SourceFile[]): string[] {
  const problems: string[] = [];
  const graph = new Map<string, string[]>();
  for (const f of files) {
    if (isTest(f.path)) continue;
    const from = area(f.path);
    const edges: string[] = [];
    for (const target of importsOf(f)) {
      edges.push(target);
      const to = area(target);
      const say = (rule: string): void => void problems.push(`${f.path} imports ${target}: ${rule}`);
      if (isTest(target) || (to.folder === 'testing' && from.folder !== 'testing')) say('product code must not import tests or control-plane/testing');
      else if (from.top === 'proto' && to.top !== 'proto') say('proto/ must depend on nothing outside proto/');
      else if (from.top === 'agent' && to.top !== 'agent' && to.top !== 'proto') say('the agent must depend only on agent/ and proto/');
      else if (from.top === 'control-plane' && to.top === 'agent' && target !== 'agent/main.ts') {
        say("the control plane may use only the agent's entry point, agent/main.ts");
      } else if (from.top === 'control-plane' && to.top === 'control-plane' && from.folder !== 'testing') {
        const a = CONTROL_PLANE_ORDER.indexOf(from.folder!);
        const b = CONTROL_PLANE_ORDER.indexOf(to.folder!);
        if (a < 0) say(`control-plane/${from.folder}/ is not a folder of DESIGN.md's layout`);
        else if (b < 0) say(`control-plane/${to.folder}/ is not a folder of DESIGN.md's layout`);
        else if (b < a) say(`an upward import: ${to.folder || 'the root'} is above ${from.folder || 'the root'}`);
      }
    }
    graph.set(f.path, edges);
  }
  for (const cycle of cycles(graph)) problems.push(`an import cycle: ${cycle.join(' -> ')}`);
  return problems;
}

/** Each strongly connected group of more than one file (or a file importing itself), as a path around it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  // Iterative Tarjan: the tree is small, but a recursive walk is what this repository avoids.
  for (const root of graph.keys()) {
    if (index.has(root)) continue;
    const work: { node: string; edge: number }[] = [{ node: root, edge: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const edges = (graph.get(top.node) ?? []).filter((e) => graph.has(e));
      if (top.edge < edges.length) {
        const to = edges[top.edge++]!;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) low.set(top.node, Math.min(low.get(top.node)!, index.get(to)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(top.node)!));
      if (low.get(top.node) === index.get(top.node)) {
        const group: string[] = [];
        for (;;) {
          const n = stack.pop()!;
          onStack.delete(n);
          group.push(n);
          if (n === top.node) break;
        }
        const selfLoop = (graph.get(top.node) ?? []).includes(top.node);
        if (group.length > 1 || selfLoop) out.push([...group.reverse(), group[0]!]);
      }
    }
  }
  return out;
}

/** The .ts files of the repository's source folders, as the check reads them. */
export function readSourceTree(root: string, folders = ['control-plane', 'agent', 'proto']): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(path.join(root, dir))) {
      const rel = `${dir}/${name}`;
      if (name === 'generated' || name === 'node_modules') continue;
      if (statSync(path.join(root, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push({ path: rel, text: readFileSync(path.join(root, rel), 'utf8') });
    }
  };
  for (const f of folders) walk(f);
  return out;
}
