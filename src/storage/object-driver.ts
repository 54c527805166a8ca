import type { Readable, Writable } from 'node:stream';

export interface ObjectInfo {
  /** Path relative to the driver's root, `/`-separated. */
  path: string;
  size: number;
  modified: Date;
}

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * A dumb path store: the only thing that differs between the filesystem and object storage. It knows nothing
 * of digests or uploads; `BlobStore` builds those on top. Paths are relative and `/`-separated.
 */
export interface ObjectDriver {
  readonly name: string;
  stat(path: string): Promise<ObjectInfo | undefined>;
  /** Opens a read stream; throws an error with code `ENOENT` when the path does not exist. */
  read(path: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable>;
  /** Creates an empty object, failing if it exists. */
  create(path: string): Promise<void>;
  /** A stream that appends to the end of an existing object; its end means the bytes are stored. */
  openAppend(path: string): Promise<Writable>;
  /** Cuts an object back to `size` bytes. */
  truncate(path: string, size: number): Promise<void>;
  /**
   * Makes `from` durable and moves it to `to` in one atomic step, replacing whatever is at `to`. Readers see
   * either nothing or the whole object at `to`, never a part of it.
   */
  publish(from: string, to: string): Promise<void>;
  /** Removes an object or, with a trailing `/`, everything under that prefix. Missing paths are fine. */
  delete(path: string): Promise<void>;
  /** Every object under a prefix, in no particular order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** A URL a client may fetch the object from directly (presigned), where the driver has one. */
  redirectUrl(path: string): Promise<string | undefined>;
}
