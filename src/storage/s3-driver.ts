import { PassThrough, Readable, Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ByteRange, ObjectDriver, ObjectInfo } from './object-driver.js';

export interface S3DriverOptions {
  /** Empty for AWS itself; Ceph radosgw, MinIO or R2 otherwise. */
  endpoint?: string | undefined;
  bucket: string;
  region: string;
  /** Key prefix inside the bucket, so that several registries (or tests) share one bucket. */
  prefix?: string | undefined;
  forcePathStyle?: boolean | undefined;
  /** Seconds a presigned blob URL stays valid; 0 serves blobs through the node instead. */
  redirectExpirySeconds?: number | undefined;
  /** Tests only: a smaller part minimum than S3's 5 MiB (radosgw: `rgw multipart min part size`). */
  minPartSize?: number | undefined;
}

/** S3's smallest part other than the last one. */
export const S3_MIN_PART = 5 * 1024 * 1024;
/** CopyObject copies at most 5 GiB in one request; larger objects are copied part by part. */
const MAX_SINGLE_COPY = 5 * 1024 * 1024 * 1024;
const COPY_PART = 1024 * 1024 * 1024;

/** Where the pieces of an appendable object `P` live: all under `P~/`, which no published key contains. */
const PIECES = '~/';
const OPEN = 'open';
const MPU = 'mpu';
const SEALED = 'sealed';
const SEGMENT = 'seg/';
const OFFSET_DIGITS = 15;

interface Segment {
  key: string;
  offset: number;
  size: number;
}

interface Part {
  PartNumber: number;
  ETag: string;
  size: number;
}

/** What an appendable object is made of right now. */
interface Pieces {
  exists: boolean;
  modified: Date;
  sealed?: { size: number } | undefined;
  mpu?: string | undefined;
  parts: Part[];
  /** Bytes in completed parts: the segments' offsets go on from here. */
  partsSize: number;
  /** Segments not yet in a part, in offset order (those below `partsSize` are leftovers of a crash). */
  segments: Segment[];
}

/**
 * Objects in an S3 bucket (AWS, Ceph radosgw, MinIO, R2). A published object is one key. An object being
 * appended to (an upload) is pieces under `P~/`: a marker, a multipart upload whose target is `P~/sealed`,
 * the parts already full, and segments (one object per stretch of a request body, at most one part long)
 * not yet in a part. Segments of one request stay segments until the next append or the commit, so that a
 * request refused after its body (wrong length) can be taken back by deleting them; then a segment of a full
 * part's size becomes a part by UploadPartCopy (no byte through the node), and smaller ones are gathered in
 * the bucket until they fill a part, which is then streamed from the bucket into UploadPart. Nothing of an
 * upload waits in a node's memory or disk between requests; within a request at most one part is buffered.
 * Reading an upload (to rehash it at commit on a node that has no running hash) completes the multipart upload
 * into `P~/sealed`; publishing copies the sealed object to its final key, so the final key appears whole.
 */
export class S3Driver implements ObjectDriver {
  readonly name = 's3';
  private readonly client: S3Client;
  private readonly prefix: string;
  private readonly minPart: number;

  constructor(
    private readonly options: S3DriverOptions,
    client?: S3Client,
  ) {
    this.client =
      client ??
      new S3Client({
        region: options.region,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        forcePathStyle: options.forcePathStyle ?? false,
        // Checksums only where S3 requires them: the SDK's default streams bodies as aws-chunked with a
        // trailing CRC, which Ceph radosgw and other S3-compatible stores refuse (MissingContentLength).
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    const prefix = options.prefix ?? '';
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.minPart = options.minPartSize ?? S3_MIN_PART;
  }

  /** Creates the bucket when it is missing (and the credentials may). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404) throw error;
      try {
        await this.client.send(new CreateBucketCommand({ Bucket: this.options.bucket }));
      } catch (created) {
        const name = (created as Error).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw created;
      }
    }
  }

  destroy(): void {
    this.client.destroy();
  }

  private key(path: string): string {
    if (path.split('/').some((part) => part === '..' || part === '.'))
      throw new Error(`path escapes the storage root: ${path}`);
    return `${this.prefix}${path}`;
  }

  private get bucket(): string {
    return this.options.bucket;
  }

  async stat(path: string): Promise<ObjectInfo | undefined> {
    const plain = await this.head(this.key(path));
    if (plain) return { path, ...plain };
    const pieces = await this.pieces(path);
    if (!pieces.exists) return undefined;
    return { path, size: sizeOf(pieces), modified: pieces.modified };
  }

  async read(path: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    let key = this.key(path);
    if (!(await this.head(key))) {
      const pieces = await this.pieces(path);
      if (!pieces.exists) throw missing(path);
      await this.seal(path, pieces);
      key = this.piece(path, SEALED);
    }
    return this.getObject(key, range, signal, path);
  }

  async create(path: string): Promise<void> {
    if ((await this.head(this.key(path))) || (await this.pieces(path)).exists)
      throw Object.assign(new Error(`exists: ${path}`), { code: 'EEXIST' });
    await this.put(this.piece(path, OPEN), Buffer.alloc(0));
  }

  async openAppend(path: string): Promise<Writable> {
    let pieces = await this.pieces(path);
    if (!pieces.exists) throw missing(path);
    if (pieces.sealed) pieces = await this.unseal(path, pieces);
    // The previous requests' bytes are final now: fill parts from them.
    pieces = await this.compose(path, pieces, false);
    let offset = sizeOf(pieces);
    let buffered: Buffer[] = [];
    let bufferedSize = 0;
    const flush = async (): Promise<void> => {
      if (bufferedSize === 0) return;
      const body = Buffer.concat(buffered, bufferedSize);
      buffered = [];
      bufferedSize = 0;
      await this.put(this.segmentKey(path, offset), body);
      offset += body.length;
    };
    return new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        let rest = chunk;
        const step = async (): Promise<void> => {
          while (rest.length > 0) {
            const room = this.minPart - bufferedSize;
            buffered.push(rest.subarray(0, room));
            bufferedSize += Math.min(room, rest.length);
            rest = rest.subarray(room);
            if (bufferedSize >= this.minPart) await flush();
          }
        };
        step().then(() => callback(), callback);
      },
      final: (callback) => {
        flush().then(() => callback(), callback);
      },
    });
  }

  async truncate(path: string, size: number): Promise<void> {
    const pieces = await this.pieces(path);
    if (!pieces.exists) throw missing(path);
    if (pieces.sealed || size < pieces.partsSize)
      throw new Error(`cannot cut ${path} back into bytes already composed into parts`);
    for (const segment of pieces.segments) {
      if (segment.offset < pieces.partsSize) continue;
      if (segment.offset >= size) await this.deleteKey(segment.key);
      else if (segment.offset + segment.size > size) {
        // Within one request's segment: bounded by the part size.
        const kept = await this.getBuffer(segment.key, { start: 0, end: size - segment.offset - 1 });
        await this.put(segment.key, kept);
      }
    }
  }

  async publish(from: string, to: string): Promise<void> {
    const source = this.key(from);
    const plain = await this.head(source);
    if (plain) {
      await this.copy(source, this.key(to), plain.size);
      await this.deleteKey(source);
      return;
    }
    const pieces = await this.pieces(from);
    if (!pieces.exists) throw missing(from);
    const sealed = await this.seal(from, pieces);
    await this.copy(this.piece(from, SEALED), this.key(to), sealed);
    await this.delete(`${from}${PIECES}`);
  }

  /** `''` removes everything under the driver's prefix. */
  async delete(path: string): Promise<void> {
    if (path !== '' && !path.endsWith('/')) {
      await this.deleteKey(this.key(path));
      if ((await this.pieces(path)).exists) await this.delete(`${path}${PIECES}`);
      return;
    }
    const prefix = this.key(path);
    // Abandoned multipart uploads hold storage too; no part of one must survive its upload.
    await this.abortUploads(prefix);
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (keys.length > 0)
        await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }),
        );
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    // The pieces of one appendable object are adjacent in key order: they are listed as that one object.
    let group: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.key(prefix),
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue;
        const path = object.Key.slice(this.prefix.length);
        const at = path.indexOf(PIECES);
        if (at < 0) {
          yield { path, size: object.Size ?? 0, modified: object.LastModified ?? new Date(0) };
          continue;
        }
        const owner = path.slice(0, at);
        if (owner === group) continue;
        group = owner;
        const info = await this.stat(owner);
        if (info) yield info;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async redirectUrl(path: string): Promise<string | undefined> {
    const expiresIn = this.options.redirectExpirySeconds ?? 0;
    if (expiresIn <= 0) return undefined;
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }), {
      expiresIn,
    });
  }

  // ---- pieces of an appendable object ----

  private piece(path: string, name: string): string {
    return this.key(`${path}${PIECES}${name}`);
  }

  private segmentKey(path: string, offset: number): string {
    return this.piece(path, `${SEGMENT}${String(offset).padStart(OFFSET_DIGITS, '0')}`);
  }

  private async pieces(path: string): Promise<Pieces> {
    const base = this.piece(path, '');
    const result: Pieces = {
      exists: false,
      modified: new Date(0),
      parts: [],
      partsSize: 0,
      segments: [],
    };
    let mpuKey: string | undefined;
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue;
        result.exists = true;
        const modified = object.LastModified ?? new Date(0);
        if (modified > result.modified) result.modified = modified;
        const name = object.Key.slice(base.length);
        if (name === SEALED) result.sealed = { size: object.Size ?? 0 };
        else if (name === MPU) mpuKey = object.Key;
        else if (name.startsWith(SEGMENT))
          result.segments.push({
            key: object.Key,
            offset: Number(name.slice(SEGMENT.length)),
            size: object.Size ?? 0,
          });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    result.segments.sort((a, b) => a.offset - b.offset);
    // A sealed object is whole: whatever else is there is left over from a crash mid-seal.
    if (result.sealed || !mpuKey) return result;
    result.mpu = (await this.getBuffer(mpuKey)).toString('utf8');
    let marker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListPartsCommand({
          Bucket: this.bucket,
          Key: this.piece(path, SEALED),
          UploadId: result.mpu,
          PartNumberMarker: marker,
        }),
      );
      for (const part of page.Parts ?? []) {
        if (part.PartNumber === undefined || !part.ETag) continue;
        result.parts.push({ PartNumber: part.PartNumber, ETag: part.ETag, size: part.Size ?? 0 });
        if (part.LastModified && part.LastModified > result.modified) result.modified = part.LastModified;
      }
      if (!page.IsTruncated) break;
      marker = page.NextPartNumberMarker;
    }
    result.parts.sort((a, b) => a.PartNumber - b.PartNumber);
    result.partsSize = result.parts.reduce((sum, part) => sum + part.size, 0);
    return result;
  }

  /** Moves segments into parts: every full part's worth, and with `final` the rest as the last part. */
  private async compose(path: string, pieces: Pieces, final: boolean): Promise<Pieces> {
    const live = pieces.segments.filter((s) => s.offset >= pieces.partsSize);
    let group: Segment[] = [];
    let groupSize = 0;
    const used: Segment[] = pieces.segments.filter((s) => s.offset < pieces.partsSize);
    const addPart = async (segments: Segment[], size: number): Promise<void> => {
      if (!pieces.mpu) pieces.mpu = await this.startMultipart(path);
      const PartNumber = pieces.parts.length + 1;
      const first = segments[0];
      let ETag: string | undefined;
      if (segments.length === 1 && first) {
        const copied = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: this.piece(path, SEALED),
            UploadId: pieces.mpu,
            PartNumber,
            CopySource: copySource(this.bucket, first.key),
          }),
        );
        ETag = copied.CopyPartResult?.ETag;
      } else {
        const uploaded = await this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: this.piece(path, SEALED),
            UploadId: pieces.mpu,
            PartNumber,
            ContentLength: size,
            Body: this.concatenate(segments.map((s) => s.key)),
          }),
        );
        ETag = uploaded.ETag;
      }
      if (!ETag) throw new Error('the object store returned a part without an ETag');
      pieces.parts.push({ PartNumber, ETag, size });
      pieces.partsSize += size;
      used.push(...segments);
    };
    for (const segment of live) {
      group.push(segment);
      groupSize += segment.size;
      if (groupSize >= this.minPart) {
        await addPart(group, groupSize);
        group = [];
        groupSize = 0;
      }
    }
    if (final && groupSize > 0 && pieces.mpu) {
      await addPart(group, groupSize);
      group = [];
    }
    // Only after the parts are in: a crash before leaves segments a later stat ignores (below partsSize).
    for (const segment of used) await this.deleteKey(segment.key);
    pieces.segments = group;
    return pieces;
  }

  private async startMultipart(path: string): Promise<string> {
    const started = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.piece(path, SEALED) }),
    );
    if (!started.UploadId) throw new Error('the object store started a multipart upload without an id');
    await this.put(this.piece(path, MPU), Buffer.from(started.UploadId));
    return started.UploadId;
  }

  /** Makes `P~/sealed` the whole object; returns its size. */
  private async seal(path: string, current: Pieces): Promise<number> {
    if (current.sealed) return current.sealed.size;
    const pieces = await this.compose(path, current, true);
    const sealed = this.piece(path, SEALED);
    let size: number;
    if (pieces.mpu) {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: sealed,
          UploadId: pieces.mpu,
          MultipartUpload: { Parts: pieces.parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
        }),
      );
      size = pieces.partsSize;
    } else {
      // Less than one part in all: one small object.
      size = pieces.segments.reduce((sum, s) => sum + s.size, 0);
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: sealed,
          ContentLength: size,
          Body: size === 0 ? Buffer.alloc(0) : this.concatenate(pieces.segments.map((s) => s.key)),
        }),
      );
    }
    await this.deleteKey(this.piece(path, MPU));
    for (const segment of pieces.segments) await this.deleteKey(segment.key);
    return size;
  }

  /** Appending after a seal (a rehash that was not followed by a commit): the sealed bytes become the start again. */
  private async unseal(path: string, pieces: Pieces): Promise<Pieces> {
    const size = pieces.sealed?.size ?? 0;
    const sealed = this.piece(path, SEALED);
    if (size >= this.minPart) {
      const mpu = await this.startMultipart(path);
      const copied = await this.client.send(
        new UploadPartCopyCommand({
          Bucket: this.bucket,
          Key: sealed,
          UploadId: mpu,
          PartNumber: 1,
          CopySource: copySource(this.bucket, sealed),
        }),
      );
      if (!copied.CopyPartResult?.ETag) throw new Error('the object store returned a part without an ETag');
    } else if (size > 0) await this.copy(sealed, this.segmentKey(path, 0), size);
    await this.deleteKey(sealed);
    return this.pieces(path);
  }

  private concatenate(keys: string[]): Readable {
    const client = this.client;
    const bucket = this.bucket;
    return Readable.from(
      (async function* () {
        for (const key of keys) {
          const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          for await (const chunk of object.Body as Readable) yield chunk as Buffer;
        }
      })(),
      { objectMode: false },
    );
  }

  // ---- single keys ----

  private async head(key: string): Promise<{ size: number; modified: Date } | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: head.ContentLength ?? 0, modified: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async getObject(
    key: string,
    range: ByteRange | undefined,
    signal: AbortSignal | undefined,
    path: string,
  ): Promise<Readable> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
      const body = object.Body as Readable | undefined;
      if (!body) return Readable.from([]);
      // The SDK's body is an IncomingMessage: handing on a plain stream keeps callers to the Readable contract.
      const out = new PassThrough();
      body.on('error', (error) => out.destroy(error));
      body.pipe(out);
      return out;
    } catch (error) {
      if (isNotFound(error)) throw missing(path);
      // An empty object asked for a range S3 cannot satisfy: there are no bytes to give.
      if ((error as { name?: string }).name === 'InvalidRange') return Readable.from([]);
      throw error;
    }
  }

  private async getBuffer(key: string, range?: ByteRange): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of await this.getObject(key, range, undefined, key)) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  }

  private async put(key: string, body: Buffer): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length }),
    );
  }

  private async deleteKey(key: string): Promise<void> {
    // An empty key would address the bucket itself.
    if (key === '' || key.endsWith('/')) throw new Error(`not an object key: '${key}'`);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  private async copy(from: string, to: string, size: number): Promise<void> {
    if (size <= MAX_SINGLE_COPY) {
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: copySource(this.bucket, from) }),
      );
      return;
    }
    const started = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }),
    );
    const UploadId = started.UploadId;
    try {
      const parts: { PartNumber: number; ETag: string }[] = [];
      for (let start = 0, PartNumber = 1; start < size; start += COPY_PART, PartNumber++) {
        const end = Math.min(size, start + COPY_PART) - 1;
        const copied = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: to,
            UploadId,
            PartNumber,
            CopySource: copySource(this.bucket, from),
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        if (!copied.CopyPartResult?.ETag) throw new Error('the object store returned a part without an ETag');
        parts.push({ PartNumber, ETag: copied.CopyPartResult.ETag });
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: to,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId }))
        .catch(() => {});
      throw error;
    }
  }

  private async abortUploads(prefix: string): Promise<void> {
    let keyMarker: string | undefined;
    let uploadMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadMarker,
        }),
      );
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key || !upload.UploadId) continue;
        await this.client
          .send(
            new AbortMultipartUploadCommand({
              Bucket: this.bucket,
              Key: upload.Key,
              UploadId: upload.UploadId,
            }),
          )
          .catch((error) => {
            if (!isNotFound(error)) throw error;
          });
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadMarker = page.NextUploadIdMarker;
    }
  }
}

function sizeOf(pieces: Pieces): number {
  if (pieces.sealed) return pieces.sealed.size;
  let size = pieces.partsSize;
  for (const segment of pieces.segments) if (segment.offset >= pieces.partsSize) size += segment.size;
  return size;
}

function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e?.$metadata?.httpStatusCode === 404 ||
    e?.name === 'NotFound' ||
    e?.name === 'NoSuchKey' ||
    e?.name === 'NoSuchUpload'
  );
}

function missing(path: string): Error {
  return Object.assign(new Error(`no such object: ${path}`), { code: 'ENOENT' });
}
