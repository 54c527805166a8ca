import { Transform, type Writable } from 'node:stream';

/**
 * The stage every compressor reads a layer through: it counts the bytes read (progress) and copies them into
 * an observer (the gate's analysis in a one-pass `push --policy`) when one is attached, at the pace of the
 * slower of the two. `attach` is called once the source is open; `fail` passes an error on to the observer.
 */
export class LayerReading {
  private read = 0;
  private observer: Writable | undefined;
  readonly stage: Transform;

  constructor(onRead: ((read: number) => void) | undefined) {
    this.stage = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.read += chunk.length;
        onRead?.(this.read);
        if (this.observer) copyInto(this.observer, chunk, () => callback(null, chunk));
        else callback(null, chunk);
      },
      flush: (callback) => {
        this.observer?.end();
        callback();
      },
    });
  }

  attach(observer: Writable | undefined): void {
    this.observer = observer;
  }

  fail(error: Error): void {
    this.observer?.destroy(error);
  }
}

/** Writes `chunk` into `observer`, calling back once it took it (or went away): a slow observer slows the read. */
function copyInto(observer: Writable, chunk: Buffer, callback: () => void): void {
  if (observer.destroyed || observer.writableEnded || observer.write(chunk)) {
    callback();
    return;
  }
  const go = (): void => {
    observer.off('drain', go);
    observer.off('close', go);
    callback();
  };
  observer.on('drain', go);
  observer.on('close', go);
}
