import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { Descriptor } from '../oci/manifest.js';
import type { ImageSource, OpenBlobOptions } from './sources/image-source.js';

// What the gate's stream of a layer holds before the copy's reading waits for the gate to catch up.
const TEE_BUFFER = 4 * 1024 * 1024;

interface Decision {
  promise: Promise<Readable | undefined>;
  resolve: (stream: Readable | undefined) => void;
  settled: boolean;
}

/**
 * One read of each uncompressed layer for two consumers: the copy, which compresses it, and the admission
 * gate, which walks its files. The copy reads the source; each chunk it reads also goes into a stream the
 * gate's view of the source hands out for that layer (the slower of the two sets the pace). A layer the copy
 * does not read (already at the destination, mounted, compressed earlier) is read by the gate itself.
 */
export class SharedLayerReads {
  private readonly decisions = new Map<string, Decision>();
  private readonly handedOut = new Set<string>();

  /** The copy starts reading `digest`: the stream its bytes are to be copied into, for the gate. */
  tap(digest: string): Writable | undefined {
    const decision = this.decision(digest);
    if (decision.settled) return undefined;
    const stream = new PassThrough({ highWaterMark: TEE_BUFFER });
    this.settle(decision, stream);
    return stream;
  }

  /** The copy is done with `digest` without reading it (or before it tapped it): the gate reads it. */
  untapped(digest: string): void {
    this.settle(this.decision(digest), undefined);
  }

  /** The copy is over: every layer not tapped by now is read by the gate itself. */
  close(): void {
    for (const decision of this.decisions.values()) this.settle(decision, undefined);
  }

  /**
   * The source as the gate sees it: the layers `sharable` picks (those the copy compresses) come from the
   * copy's reading when it has one.
   */
  gateView(source: ImageSource, sharable: (descriptor: Descriptor) => boolean): ImageSource {
    return {
      description: source.description,
      topManifest: () => source.topManifest(),
      manifest: (digest) => source.manifest(digest),
      // Closing is the owner's business: the copy still reads the source.
      close: async () => {},
      openBlob: async (descriptor: Descriptor, options?: OpenBlobOptions): Promise<Readable> => {
        const shareable = sharable(descriptor) && !options?.offset && !this.handedOut.has(descriptor.digest);
        if (!shareable) return source.openBlob(descriptor, options);
        this.handedOut.add(descriptor.digest);
        const shared = await this.decision(descriptor.digest).promise;
        return shared ?? source.openBlob(descriptor, options);
      },
    };
  }

  private decision(digest: string): Decision {
    let decision = this.decisions.get(digest);
    if (!decision) {
      let resolve!: (stream: Readable | undefined) => void;
      const promise = new Promise<Readable | undefined>((r) => {
        resolve = r;
      });
      decision = { promise, resolve, settled: false };
      this.decisions.set(digest, decision);
    }
    return decision;
  }

  private settle(decision: Decision, stream: Readable | undefined): void {
    if (decision.settled) return;
    decision.settled = true;
    decision.resolve(stream);
  }
}
