import { Readable, type Writable } from 'node:stream';

/**
 * A blob body that copies itself to a socket with reused buffers (the filesystem driver's range streams do):
 * the blob route hands it the raw response instead of piping. Recognised by shape, so that http/ needs no
 * storage import.
 */
export interface DirectBody {
  writeTo(out: Writable): Promise<void>;
}

export function isDirectBody(stream: unknown): stream is Readable & DirectBody {
  return stream instanceof Readable && typeof (stream as Partial<DirectBody>).writeTo === 'function';
}
