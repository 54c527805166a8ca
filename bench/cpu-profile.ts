import { readFile } from 'node:fs/promises';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that self time needs. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  selfMs: number;
  /** Share of the whole profile (wall time of the main thread). */
  share: number;
}

export interface ProfileSummary {
  /** Main-thread wall time covered by the profile. */
  totalMs: number;
  /** Main thread waiting (event loop idle): zlib, file reads and sockets work elsewhere meanwhile. */
  idleMs: number;
  /** Main thread running: JavaScript, garbage collection and native work called from JavaScript. */
  busyMs: number;
  byFunction: ProfileEntry[];
  byArea: ProfileEntry[];
}

/** `file:///…/node_modules/undici/lib/x.js` → `undici/lib/x.js`; `file:///…/dist/client/x.js` → `dist/client/x.js`. */
function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

/** A coarse owner for a function: the package, the Berth module, or the part of Node it belongs to. */
function area(functionName: string, url: string): string {
  if (functionName.startsWith('(') && url === '') return functionName;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return `npm ${parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) {
    const parts = url.slice(dist + '/dist/'.length).split('/');
    return `berth ${parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  if (url.startsWith('node:internal/modules') || url.startsWith('node:internal/main'))
    return 'node module loading';
  if (url === 'node:internal/stream_base_commons' || url === 'node:net') return 'node sockets';
  if (url.includes('streams') || url === 'node:stream') return 'node streams';
  if (url.startsWith('node:internal/crypto')) return 'node crypto';
  if (url.startsWith('node:internal/fs') || url === 'node:fs') return 'node fs';
  if (url === 'node:zlib') return 'node zlib';
  if (url.startsWith('node:'))
    return `node ${
      url
        .slice('node:'.length)
        .replace(/^internal\//, '')
        .split('/')[0]
    }`;
  return shortUrl(url);
}

function rank(totals: Map<string, number>, totalMs: number): ProfileEntry[] {
  return [...totals.entries()]
    .map(([name, ms]) => ({ name, selfMs: ms, share: ms / totalMs }))
    .sort((a, b) => b.selfMs - a.selfMs);
}

/** Self time by function and by area; each sample's time is the delta to the next sample. */
export async function summarizeCpuProfile(path: string): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  // A native binding (a socket write, a file read) belongs to the area of the JavaScript that called it.
  const nativeArea = (id: number): string => {
    for (let up = parents.get(id); up !== undefined; up = parents.get(up)) {
      const caller = frames.get(up);
      if (caller?.url) return `${area(caller.functionName, caller.url)} (native)`;
    }
    return '(native)';
  };
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let idleMs = 0;
  let totalMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const frame = frames.get(profile.samples[i] as number);
    if (!frame) continue;
    totalMs += ms;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const where = frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const name = `${frame.functionName || '(anonymous)'}${where}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    const id = profile.samples[i] as number;
    const owner =
      frame.url === '' && !frame.functionName.startsWith('(')
        ? nativeArea(id)
        : area(frame.functionName, frame.url);
    byArea.set(owner, (byArea.get(owner) ?? 0) + ms);
  }
  return {
    totalMs,
    idleMs,
    busyMs: totalMs - idleMs,
    byFunction: rank(byFunction, totalMs),
    byArea: rank(byArea, totalMs),
  };
}

/** Two short lists: the areas the main thread spent its time in, and the functions with the most self time. */
export function renderProfile(summary: ProfileSummary, top = 15): string {
  const line = (entry: ProfileEntry): string =>
    `  ${entry.selfMs.toFixed(0).padStart(6)} ms ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.name}`;
  return [
    `main thread: ${summary.totalMs.toFixed(0)} ms profiled, ${summary.busyMs.toFixed(0)} ms busy, ${summary.idleMs.toFixed(0)} ms idle (waiting on the thread pool, disk and sockets)`,
    'self time by area:',
    ...summary.byArea.slice(0, 10).map(line),
    `self time by function (top ${top}):`,
    ...summary.byFunction.slice(0, top).map(line),
  ].join('\n');
}
