import { fromPromise } from 'xstate';
import { commitRestore, type CommitRestoreInput, type CommitRestoreOutput } from '../restore/commit-restore.ts';

/** `committingRestore`: carries out the plan on disk (see commitRestore) before anything is spawned. */
export const commitRestoreActor = fromPromise<CommitRestoreOutput, CommitRestoreInput>(({ input }) => commitRestore(input));

export type { CommitRestoreInput, CommitRestoreOutput };
export { removedWithStorage } from '../restore/commit-restore.ts';
