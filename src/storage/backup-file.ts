import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { backupReadResult, decodeBackup, encodeBackup } from './backup-codec.ts';
import type { DurableFs } from './fs-durable.ts';
import { errnoText, exists, isErrno } from './fs-errors.ts';
import { StorageError, type BackupContents, type BackupReadOptions, type BackupReadResult } from './storage.ts';

/** The file store's backup (`<data dir>/backup/registry.jsonl`), written whole, used once, set aside when unusable. */
export class BackupFile {
  constructor(
    readonly dir: string,
    readonly file: string,
    readonly retiredFile: string,
    private readonly fs: DurableFs,
  ) {}

  exists(): Promise<boolean> {
    return exists(this.file);
  }

  async read(options: BackupReadOptions = {}): Promise<BackupReadResult> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return { status: 'missing' };
      return { status: 'unusable', file: this.file, reason: `unreadable: ${errnoText(error)}` };
    }
    return backupReadResult(this.file, decodeBackup(text, options.unlessMetadataIs));
  }

  async write(contents: Omit<BackupContents, 'createdAt'>): Promise<void> {
    await this.fs.mkdir(this.dir);
    await this.fs.replaceFile(this.file, encodeBackup({ ...contents, createdAt: new Date().toISOString() }));
  }

  async retire(how: 'used' | 'unusable'): Promise<void> {
    const target = how === 'used' ? this.retiredFile : join(this.dir, `registry.unusable-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(2).toString('hex')}.jsonl`);
    try {
      await this.fs.rename(this.file, target);
    } catch (error) {
      // ENOTDIR: `backup` is not a directory, so there is no backup (exists() says the same).
      if (!isErrno(error, 'ENOENT') && !isErrno(error, 'ENOTDIR')) throw new StorageError('io', this.file, `cannot retire backup: ${errnoText(error)}`);
    }
  }
}
