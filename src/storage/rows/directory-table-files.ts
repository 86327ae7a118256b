import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../file-store.ts';
import { nodeDurableFs, type DurableFs } from '../fs-durable.ts';
import { TableFiles } from './table-files.ts';

/** The row store's files in a directory (`<dataDir>/tables/`), every change through the data dir's DurableFs. */
export class DirectoryTableFiles extends TableFiles {
  readonly description: string;
  #made = false;

  constructor(
    readonly dir: string,
    private readonly fs: DurableFs = nodeDurableFs,
  ) {
    super();
    this.description = `row store at ${dir}`;
  }

  pathOf(name: string): string {
    return join(this.dir, name);
  }

  async list(): Promise<string[]> {
    try {
      return await readdir(this.dir);
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return [];
      throw error;
    }
  }

  async read(name: string): Promise<Buffer | null> {
    try {
      return await readFile(this.pathOf(name));
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return null;
      throw error;
    }
  }

  async append(name: string, data: string): Promise<void> {
    await this.#mkdir();
    await this.fs.append(this.pathOf(name), data);
  }

  async replace(name: string, data: string): Promise<void> {
    await this.#mkdir();
    await this.fs.replaceFile(this.pathOf(name), data);
  }

  async create(name: string, data: string | Uint8Array): Promise<void> {
    await this.#mkdir();
    await this.fs.createFile(this.pathOf(name), data);
  }

  async truncate(name: string, length: number): Promise<void> {
    await this.fs.truncate(this.pathOf(name), length);
  }

  async #mkdir(): Promise<void> {
    if (this.#made) return;
    await this.fs.mkdir(this.dir);
    this.#made = true;
  }
}
