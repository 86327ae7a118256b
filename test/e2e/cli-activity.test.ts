/**
 * The CLI says how many shapes were kept and how many woke (issue 13 item 3): restore starts no
 * actor, so `restore` reports every shape kept and none woken; `apply` reports the shapes its
 * transactions woke (a change wakes the shapes it is routed to, dependencies first), and only those.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/run-cli.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const ins = (table: string, row: object) => ({ op: 'insert', table, row });

interface Activity {
  readonly kept: number;
  readonly woken: number;
  readonly slept: number;
  readonly awake: number;
}

describe('kept and woken shapes, through the CLI', () => {
  it('restore: every shape kept, none woken; apply: exactly the shapes its changes reached, and their dependencies', async () => {
    const dir = await tempDir();
    const transactions = async (name: string, ...txs: object[]) => {
      const file = join(dir, '..', `${dir.split('/').at(-1)}-${name}.jsonl`);
      await writeFile(file, txs.map((t) => `${JSON.stringify(t)}\n`).join(''));
      return file;
    };
    // Three shapes: users with a subquery (and its dependency shape on memberships), orders.
    expect((await cli('add', '--data-dir', dir, '--table', 'users', '--where', 'id IN (SELECT user_id FROM public.memberships WHERE org_id = 7)')).code).toBe(0);
    expect((await cli('add', '--data-dir', dir, '--table', 'orders', '--where', 'id = 1')).code).toBe(0);

    const restored = await cli('restore', '--data-dir', dir, '--json');
    expect(restored.code).toBe(0);
    expect((JSON.parse(restored.stdout) as { activity: Activity }).activity).toEqual({ kept: 3, woken: 0, slept: 0, awake: 0 });
    const text = await cli('restore', '--data-dir', dir);
    expect(text.stdout).toMatch(/\nShapes: 3 shapes kept, 0 woke during this command\.\n?$/);

    // An order no shape selects wakes nothing; the order of id 1 wakes its shape alone.
    const none = await cli('apply', '--data-dir', dir, '--file', await transactions('none', { xid: 1, changes: [ins('public.orders', { id: 2 })] }), '--json');
    expect((JSON.parse(none.stdout) as { shapes: Activity }).shapes).toMatchObject({ kept: 3, woken: 0 });
    const one = await cli('apply', '--data-dir', dir, '--file', await transactions('one', { xid: 2, changes: [ins('public.orders', { id: 1 })] }));
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/Shapes: 3 shapes kept, 1 woke\.\n$/);

    // User 1 is in no org 7 yet: the users shape is not reached (its dependency's values, read by the check after restore, are empty).
    const user = await cli('apply', '--data-dir', dir, '--file', await transactions('user', { xid: 3, changes: [ins('public.users', { id: 1 })] }), '--json');
    expect((JSON.parse(user.stdout) as { shapes: Activity }).shapes).toMatchObject({ kept: 3, woken: 0 });
    // Their membership of org 7: its shape wakes, then the users shape for the move-in of user 1 (dependencies first).
    const member = await cli('apply', '--data-dir', dir, '--file', await transactions('member', { xid: 4, changes: [ins('public.memberships', { id: 10, user_id: 1, org_id: 7 })] }), '--json');
    expect((JSON.parse(member.stdout) as { shapes: Activity }).shapes).toMatchObject({ kept: 3, woken: 2 });

    // And restore, again, wakes nothing.
    expect((JSON.parse((await cli('restore', '--data-dir', dir, '--json')).stdout) as { activity: Activity }).activity).toMatchObject({ kept: 3, woken: 0 });
  }, 60_000);
});
