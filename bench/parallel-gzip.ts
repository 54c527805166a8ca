// node --import tsx bench/parallel-gzip.ts <file> [runs]: one zlib gzip stream against ParallelGzip (blocks on
// every core) over the same file, alternating, each run in its own process reading the compiled dist/ (run
// `npm run build` first). Prints wall time, CPU time of the whole process (all threads), size and peak RSS.
// Not part of `npm run bench`: it measures one piece of the importer, for choosing the deflate engine.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';

type Mode = 'single' | 'parallel';
interface Run {
  mode: Mode;
  wall: number;
  cpu: number;
  size: number;
  rssMiB: number;
}

const DIST = fileURLToPath(new URL('../dist/client/parallel-gzip.js', import.meta.url));
const LEVEL = Number(process.env.BENCH_GZIP_LEVEL ?? 1);

async function runOnce(mode: Mode, file: string): Promise<Run> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let size = 0;
  const input = createReadStream(file, { highWaterMark: 1024 * 1024 });
  if (mode === 'single') {
    // As the importer did before: the input hashed (the source's check), gzip, the output hashed.
    const inputHash = createHash('sha256');
    const outputHash = createHash('sha256');
    await pipeline(
      input,
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          inputHash.update(chunk);
          callback(null, chunk);
        },
      }),
      createGzip({ level: LEVEL, chunkSize: 1024 * 1024 }),
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          outputHash.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      }),
      createWriteStream('/dev/null'),
    );
  } else {
    const { ParallelGzip } = (await import(DIST)) as typeof import('../src/client/parallel-gzip.js');
    const gzip = new ParallelGzip({ level: LEVEL });
    await pipeline(
      input,
      (chunks: AsyncIterable<Buffer>) => gzip.compress(chunks),
      createWriteStream('/dev/null'),
    );
    size = gzip.result.size;
  }
  const used = process.cpuUsage(cpu);
  return {
    mode,
    wall: (performance.now() - started) / 1000,
    cpu: (used.user + used.system) / 1e6,
    size,
    rssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

const [first, second, third] = process.argv.slice(2);
if (first === '--run') {
  process.stdout.write(`${JSON.stringify(await runOnce(second as Mode, third as string))}\n`);
} else if (first) {
  const runs = Number(second ?? 5);
  const results: Run[] = [];
  for (let i = 0; i < runs; i += 1) {
    for (const mode of ['single', 'parallel'] as const) {
      const child = spawnSync(
        process.execPath,
        [...process.execArgv, fileURLToPath(import.meta.url), '--run', mode, first],
        {
          encoding: 'utf8',
        },
      );
      if (child.status !== 0) throw new Error(`${mode} run failed: ${child.stderr}`);
      results.push(JSON.parse(child.stdout) as Run);
    }
  }
  for (const mode of ['single', 'parallel'] as const) {
    const mine = results.filter((r) => r.mode === mode);
    process.stdout.write(
      `${mode.padEnd(8)} level ${LEVEL}  wall ${median(mine.map((r) => r.wall)).toFixed(2)} s  cpu ${median(mine.map((r) => r.cpu)).toFixed(2)} s  ` +
        `size ${mine[0]?.size}  peak RSS ${median(mine.map((r) => r.rssMiB))} MiB  (median of ${mine.length})\n`,
    );
  }
  const of = (mode: Mode, pick: (r: Run) => number): number =>
    median(results.filter((r) => r.mode === mode).map(pick));
  const ratio = (pick: (r: Run) => number): string => (of('parallel', pick) / of('single', pick)).toFixed(2);
  process.stdout.write(
    `parallel / single: wall ${ratio((r) => r.wall)}×  cpu ${ratio((r) => r.cpu)}×  size ${ratio((r) => r.size)}×  peak RSS ${ratio((r) => r.rssMiB)}×\n`,
  );
} else {
  process.stderr.write('usage: node --import tsx bench/parallel-gzip.ts <file> [runs]\n');
  process.exit(2);
}
