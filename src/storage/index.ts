export * from './storage.ts';
export { FileStorage, openFileStorage, checkDataDir, type OpenFileStorageOptions } from './file-store.ts';
export { dataDirLayout } from './data-dir-layout.ts';
export { MemoryStorage } from './memory-store.ts';
