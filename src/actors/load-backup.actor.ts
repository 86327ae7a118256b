import { fromPromise } from 'xstate';
import { loadFromBackup, type BackupLoad } from '../restore/load-shapes.ts';
import type { ShapeStorage } from '../storage/storage.ts';

/** `checkingBackup`: is there a backup file at all? */
export const checkBackupActor = fromPromise<boolean, { storage: ShapeStorage }>(({ input }) => input.storage.hasBackup());

/** `loadingBackup`: the registry from the backup, reconciled with storage's metadata (or why it cannot be used). */
export const loadBackupActor = fromPromise<BackupLoad, { storage: ShapeStorage; readEverything: boolean }>(({ input }) =>
  loadFromBackup(input.storage, { readEverything: input.readEverything }),
);
