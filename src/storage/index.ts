export * from './storage.ts';
export { FileStorage, openFileStorage, dataDirLayout, type OpenFileStorageOptions } from './file-store.ts';
export { MemoryStorage } from './memory-store.ts';
