import { readFile } from 'node:fs/promises';
import { writeAtomically } from '../files/atomic-write.js';

/** Reads a JSON file of ours; a missing or damaged file is an empty start (it is only a cache). */
export async function readJsonFile<T>(path: string, empty: T): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return empty;
  }
}

/** Writes a JSON file atomically: a crash leaves the old file or the new one, never half of one. */
export function writeJsonFile(path: string, value: unknown): Promise<void> {
  return writeAtomically(path, JSON.stringify(value));
}
