import { FileStorage, MemoryStorage } from '../../src/storage/index.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { rowStoreConformance } from './row-store-suite.ts';
import { logPageConformance } from './log-pages-suite.ts';
import { storageConformance } from './storage-suite.ts';

const tempDir = useTempDirs();
storageConformance('MemoryStorage', async () => new MemoryStorage());
storageConformance('FileStorage', async () => new FileStorage(await tempDir()));
rowStoreConformance('MemoryStorage', async () => new MemoryStorage());
rowStoreConformance('FileStorage', async () => new FileStorage(await tempDir()));
logPageConformance('MemoryStorage', async () => new MemoryStorage());
logPageConformance('FileStorage', async () => new FileStorage(await tempDir()));
