import cliProgress from 'cli-progress';
import type { CopyEvent } from '../client/copy-image.js';
import { formatBytes } from '../oci/byte-size.js';

export type ProgressMode = 'bars' | 'lines' | 'none';

export interface CopyProgress {
  onEvent(event: CopyEvent): void;
  stop(): void;
}

const short = (digest: string): string => digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);

/**
 * Shows a copy as it goes: on a terminal one bar per blob with bytes, speed and ETA and its state, like
 * `docker push`; elsewhere one line per state change (logs stay readable); or nothing.
 */
export function copyProgress(mode: ProgressMode, out: NodeJS.WriteStream): CopyProgress {
  if (mode === 'none') return { onEvent: () => {}, stop: () => {} };
  if (mode === 'lines') {
    return {
      onEvent(event) {
        if (event.type === 'manifest') {
          out.write(
            `manifest ${event.digest}${event.platform ? ` (${event.platform})` : ''} -> ${event.reference}\n`,
          );
        } else if (event.state !== 'progress' && event.state !== 'checking') {
          const from = 'from' in event && event.from ? ` from ${event.from}` : '';
          out.write(
            `${event.kind} ${short(event.digest)} ${formatBytes(event.size)} ${event.state}${from}\n`,
          );
        }
      },
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      format: ' {name} {bar} {state} {done}/{size} {speed} {remaining}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
      stream: out,
      formatValue: (value, _options, type) =>
        type === 'value' || type === 'total' ? formatBytes(value) : String(value),
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
  const barFor = (event: Extract<CopyEvent, { type: 'blob' }>) => {
    let entry = bars.get(event.digest);
    if (!entry) {
      const bar = multi.create(event.size, 0, {
        name: `${event.kind} ${short(event.digest)}`,
        state: 'waiting',
        done: '0 B',
        size: formatBytes(event.size),
        speed: '',
        remaining: '',
      });
      entry = { bar, started: Date.now() };
      bars.set(event.digest, entry);
    }
    return entry;
  };
  return {
    onEvent(event) {
      if (event.type !== 'blob') return;
      const entry = barFor(event);
      if (event.state === 'progress') {
        const seconds = Math.max((Date.now() - entry.started) / 1000, 0.001);
        const rate = event.sent / seconds;
        entry.bar.setTotal(event.size);
        entry.bar.update(event.sent, {
          done: formatBytes(event.sent),
          speed: `${formatBytes(rate)}/s`,
          remaining:
            rate > 0 && event.sent < event.size ? `ETA ${Math.ceil((event.size - event.sent) / rate)}s` : '',
        });
      } else if (event.state === 'uploading') {
        entry.started = Date.now();
        entry.bar.setTotal(event.size);
        entry.bar.update(0, { state: 'uploading', size: formatBytes(event.size) });
      } else {
        const complete = event.state === 'exists' || event.state === 'mounted' || event.state === 'uploaded';
        entry.bar.update(complete ? event.size : entry.bar.getProgress() * event.size, {
          state: event.state === 'uploaded' ? 'done' : event.state,
          remaining: '',
          done: complete ? formatBytes(event.size) : formatBytes(0),
          size: formatBytes(event.size),
        });
      }
    },
    stop() {
      multi.stop();
    },
  };
}
