/**
 * The package as another project gets it: `npm pack` (the build test/global-setup.ts made
 * current), installed into a fresh temp project beside that project's own `xstate`, then used
 * there without tsx: plain `node` imports the runtime and runs the README's examples (the promise
 * facade, and the runtime as a child of the host's own machine, whose actors join the host's
 * system: one XState), a plain `tsc` type-checks them (and finds the type errors a wrong use
 * makes), the CLI runs from node_modules/.bin, and the optional packages, left out, are named
 * when a part needs them. The public types hold no `any`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIsCurrent, ROOT } from '../helpers/built-cli.ts';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
/** The versions this repo is tested with (from its lockfile), so npm finds them in the cache `npm ci` filled. */
const pinned = (name: string): string => `${name}@${lock.packages[`node_modules/${name}`]!.version!}`;

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function exec(file: string, args: readonly string[], cwd: string): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(file, [...args], { cwd, timeout: 240_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `any` written in a declaration file or in one it imports relatively: file, line and the text around it. */
function anysIn(entry: string): { files: number; anys: string[] } {
  const seen = new Set<string>();
  const anys: string[] = [];
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = ts.createSourceFile(file, ts.sys.readFile(file) ?? '', ts.ScriptTarget.Latest, true);
    const follow = (specifier: string) => specifier.startsWith('.') && visit(resolve(dirname(file), specifier.replace(/\.(js|ts)$/, '.d.ts')));
    const walk = (node: ts.Node): void => {
      if (node.kind === ts.SyntaxKind.AnyKeyword) anys.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.parent.getText()}`);
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) follow(node.moduleSpecifier.text);
      if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) follow(node.argument.literal.text);
      ts.forEachChild(node, walk);
    };
    walk(source);
  };
  visit(entry);
  return { files: seen.size, anys };
}

/** Uses of the runtime's types that must not compile: were they `any`, the `@ts-expect-error`s would be unused, an error. */
const WRONG_USES = `import { createActor, setup } from 'xstate';
import { createShapeRuntime, MemoryStorage, shapeRuntimeMachine } from 'shape-actors';

const runtime = await createShapeRuntime({ dataDir: './nowhere' });
// @ts-expect-error: position() is a number
const position: string = runtime.position();
const host = createActor(setup({ actors: { shapes: shapeRuntimeMachine } }).createMachine({ invoke: { id: 'shapes', src: 'shapes', input: { storage: new MemoryStorage() } } }));
// @ts-expect-error: the runtime takes no such event
host.getSnapshot().children.shapes?.send({ type: 'NOT.A.REQUEST' });
// @ts-expect-error: SHAPE.ADDED carries a handle, not a count
host.getSnapshot().children.shapes?.on('SHAPE.ADDED', (event) => event.count);
export { position };
`;

/**
 * One XState at run time: the actors the runtime spawns in the host's system are instances of the host's
 * `Actor` class (a second copy of xstate under shape-actors/node_modules would make them another class's).
 */
const ONE_XSTATE = `import { Actor, createActor, setup } from 'xstate';
import { MemoryStorage, shapeRuntimeMachine } from 'shape-actors';

const host = createActor(setup({ actors: { shapes: shapeRuntimeMachine } }).createMachine({ invoke: { id: 'shapes', src: 'shapes', input: { storage: new MemoryStorage() } } })).start();
const shapes = host.getSnapshot().children.shapes;
const added = new Promise((resolve) => shapes.on('SHAPE.ADDED', resolve));
shapes.send({ type: 'SHAPE.ADD_REQUESTED', requestId: 'add-1', definition: { table: 'public.users', where: 'id IN (SELECT user_id FROM public.admins)' } });
const { handle, dependencyHandles } = await added;
const spawned = [host.system.get(\`shape:\${handle}\`), host.system.get(\`materializer:\${dependencyHandles[0]}\`)];
console.log(JSON.stringify(spawned.map((actor) => [actor?.id ?? null, actor instanceof Actor])));
host.stop();
`;

/** A CommonJS host (Node 20.19+ loads ES modules with require): the facade, each subpath, and the same one XState. */
const CJS_HOST = `const { createShapeRuntime, MemoryStorage, shapeRuntimeMachine } = require('shape-actors');
const { Actor, createActor } = require('xstate');

(async () => {
  const runtime = await createShapeRuntime({ dataDir: process.argv[2] });
  const { handle } = await runtime.add({ table: 'public.todos' });
  await runtime.shutdown();
  const shapes = createActor(shapeRuntimeMachine, { input: { storage: new MemoryStorage() } }).start();
  const added = new Promise((resolve) => shapes.on('SHAPE.ADDED', resolve));
  shapes.send({ type: 'SHAPE.ADD_REQUESTED', requestId: 'add-1', definition: { table: 'public.users' } });
  const consumer = shapes.system.get(\`shape:\${(await added).handle}\`);
  shapes.stop();
  const subpaths = ['shape-actors/http', 'shape-actors/postgres', 'shape-actors/inspector'].map((name) => Object.keys(require(name)).sort().join(','));
  console.log(JSON.stringify({ handle, hostActor: consumer instanceof Actor, subpaths }));
})();
`;

describe('npm pack, installed into another project', () => {
  let work = '';
  let project = '';
  let tarball = '';
  let packed: { path: string }[] = [];

  beforeAll(async () => {
    expect(buildIsCurrent(), 'dist/ is not a build of the current sources (test/global-setup.ts builds it; see its output)').toBe(true);
    work = await mkdtemp(join(tmpdir(), 'shape-actors-pack-'));
    // --ignore-scripts: `prepack` would build into dist/ while other test files run the CLI from it.
    const pack = await exec(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
    expect(pack.code, pack.stderr).toBe(0);
    const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, info!.filename);
    packed = info!.files;
    project = join(work, 'host');
    await run('mkdir', [project]);
    await writeFile(join(project, 'package.json'), `${JSON.stringify({ name: 'host', private: true, type: 'module' }, null, 2)}\n`);
    // The host's own xstate (a peer of the runtime), nothing optional: pg, the inspector's packages are left out.
    const install = await exec(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, pinned('xstate'), pinned('@types/node')], project);
    expect(install.code, install.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('ships the build, the types, the README and the license; not the sources or the tests', () => {
    const paths = packed.map((f) => f.path);
    for (const file of ['package.json', 'README.md', 'LICENSE', 'bin/shape-actors.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'dist/sources/postgres/index.js', 'dist/http/index.js', 'dist/inspection/index.d.ts']) expect(paths).toContain(file);
    expect(paths.filter((p) => !/^(dist\/|docs\/|bin\/shape-actors\.js$|package\.json$|README\.md$|LICENSE$)/.test(p))).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    expect(paths).not.toContain('dist/.tsbuildinfo');
  });

  it('one xstate: the host’s (the actors the runtime spawns are its Actor instances); the optional packages are not installed', async () => {
    const ls = await exec(NPM, ['ls', 'xstate', '--all', '--json'], project);
    const tree = JSON.parse(ls.stdout) as { dependencies: Record<string, { version: string; dependencies?: Record<string, unknown> }> };
    expect(tree.dependencies.xstate?.version).toBe(pinned('xstate').split('@')[1]);
    expect(existsSync(join(project, 'node_modules', 'shape-actors', 'node_modules', 'xstate'))).toBe(false);
    for (const name of ['pg', 'pg-logical-replication', '@statelyai/inspect', 'ws', 'tsx', 'typescript']) expect(existsSync(join(project, 'node_modules', name)), name).toBe(false);
    await writeFile(join(project, 'one-xstate.mjs'), ONE_XSTATE);
    const one = await exec(process.execPath, ['one-xstate.mjs'], project);
    expect(one.code, one.stderr).toBe(0);
    const spawned = JSON.parse(one.stdout) as [string | null, boolean][];
    expect(spawned.map(([id]) => id)).toEqual([expect.stringMatching(/^shape:\d+-\d+$/), expect.stringMatching(/^materializer:\d+-\d+$/)]);
    expect(spawned.map(([, hostActor]) => hostActor), "the runtime's consumer and materializer are the host's xstate Actors").toEqual([true, true]);
  });

  it("type-checks the README's examples with a plain tsc, which also catches wrong uses of the types", async () => {
    await copyFile(join(ROOT, 'scripts', 'package-example.ts'), join(project, 'package-example.ts'));
    await copyFile(join(ROOT, 'scripts', 'embed-example.ts'), join(project, 'embed-example.ts'));
    await writeFile(join(project, 'wrong-uses.ts'), WRONG_USES);
    await writeFile(join(project, 'tsconfig.json'), `${JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', outDir: 'out' } }, null, 2)}\n`);
    const tsc = await exec(process.execPath, [TSC, '-p', '.'], project);
    expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
    expect(existsSync(join(project, 'out', 'package-example.js'))).toBe(true);
  }, 120_000);

  it('runs them with plain node: the facade, and the runtime as a child of the host machine, its actors in the host’s system', async () => {
    const example = await exec(process.execPath, [join('out', 'package-example.js'), join(work, 'data')], project);
    expect(example.code, example.stderr).toBe(0);
    const out = JSON.parse(example.stdout) as { facade: { handle: string; rows: unknown[] }; host: { handle: string; consumer: string | null; materializer: string | null } };
    expect(out.facade.rows).toEqual([{ id: 1, title: 'write docs', done: false }]);
    expect(existsSync(join(work, 'data', 'shapes', out.facade.handle, 'log.jsonl'))).toBe(true);
    expect(out.host.consumer).toBe(`shape:${out.host.handle}`);
    expect(out.host.materializer).toMatch(/^materializer:\d+-\d+$/);

    const embed = await exec(process.execPath, [join('out', 'embed-example.js')], project);
    expect(embed.code, embed.stderr).toBe(0);
    expect(JSON.parse(embed.stdout)).toMatchObject({ restoredFrom: 'storage', applied: 1 });
    const refused = await exec(process.execPath, [join('out', 'embed-example.js'), 'id IN (SELECT'], project);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^subscription refused: invalid-where: syntax error/);
  }, 120_000);

  it('a CommonJS program requires it (the facade, every subpath) and shares its XState', async () => {
    await writeFile(join(project, 'cjs-host.cjs'), CJS_HOST);
    const host = await exec(process.execPath, ['cjs-host.cjs', join(work, 'cjs-data')], project);
    expect(host.code, host.stderr).toBe(0);
    expect(host.stderr).toBe(''); // no warning either
    const out = JSON.parse(host.stdout) as { handle: string; hostActor: boolean; subpaths: string[] };
    expect(existsSync(join(work, 'cjs-data', 'shapes', out.handle))).toBe(true);
    expect(out.hostActor).toBe(true);
    expect(out.subpaths).toEqual([expect.stringContaining('startShapeServer'), expect.stringContaining('startPostgresRuntime'), expect.stringContaining('startLiveInspector')]);
  }, 120_000);

  it('runs the CLI from node_modules/.bin; a part that needs a missing optional package names it', async () => {
    const bin = join(project, 'node_modules', '.bin', 'shape-actors');
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect((await exec(bin, ['--version'], project)).stdout.trim()).toBe(pkg.version);
    const dataDir = join(work, 'cli-data');
    const add = await exec(bin, ['add', '--data-dir', dataDir, '--table', 'public.todos', '--json'], project);
    expect(add.code, add.stderr).toBe(0);
    const { handle } = JSON.parse(add.stdout) as { handle: string };
    const list = await exec(bin, ['list', '--data-dir', dataDir, '--json'], project);
    expect((JSON.parse(list.stdout) as { shapes: { handle: string }[] }).shapes.map((s) => s.handle)).toEqual([handle]);

    const serve = await exec(bin, ['serve', '--data-dir', dataDir, '--database-url', 'postgres://app@127.0.0.1:1/app'], project);
    expect(serve.code).toBe(1);
    expect(serve.stderr).toBe('shape-actors: the Postgres source needs the optional packages pg and pg-logical-replication, not installed here: npm install pg pg-logical-replication\n');
    const inspect = await exec(bin, ['list', '--data-dir', dataDir, '--inspect', '--inspect-wait', '0'], project);
    expect(inspect.code).toBe(1);
    expect(inspect.stderr).toMatch(/needs the optional packages @statelyai\/inspect and ws, not installed here: npm install @statelyai\/inspect ws\n$/);
  }, 120_000);

  it('the public types hold no any (index.d.ts and every declaration it imports)', () => {
    const { files, anys } = anysIn(join(project, 'node_modules', 'shape-actors', 'dist', 'index.d.ts'));
    expect(files).toBeGreaterThan(10);
    expect(anys).toEqual([]);
  });
});
