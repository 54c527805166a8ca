import cliProgress from 'cli-progress';
import type { BlobEvent, CopyEvent } from '../../client/copy-image.js';
import { formatBytes } from '../../oci/byte-size.js';

export type ProgressMode = 'bars' | 'lines' | 'none';

export interface CopyProgress {
  onEvent(event: CopyEvent): void;
  stop(): void;
}

export type RowState = 'checking' | 'compressing' | 'uploading' | 'done' | 'exists' | 'mounted';

/** One blob of a copy as shown: one row from the first check to the end, whatever digest it ends under. */
export interface ProgressRow {
  /** The digest the source holds the blob under. */
  readonly id: string;
  readonly name: string;
  state: RowState;
  /** Bytes of `total` handled in this state: read while compressing, at the destination while uploading. */
  done: number;
  total: number;
  from?: string;
}

const short = (digest: string): string => digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);

const finalState = { uploaded: 'done', exists: 'exists', mounted: 'mounted' } as const;

/**
 * What a copy's blob events mean for the rows on screen, without any drawing or timing: a gzipped layer
 * stays one row as its digest changes, and its label goes checking → compressing → uploading → done with
 * the bytes of each step.
 */
export class CopyProgressModel {
  private readonly byId = new Map<string, ProgressRow>();

  get rows(): ProgressRow[] {
    return [...this.byId.values()];
  }

  /** Folds one event into its row; `changed` says whether the row's label moved on. */
  apply(event: BlobEvent): { row: ProgressRow; changed: boolean } {
    let row = this.byId.get(event.source);
    const created = row === undefined;
    if (!row) {
      row = {
        id: event.source,
        name: `${event.kind} ${short(event.source)}`,
        state: 'checking',
        done: 0,
        total: 0,
      };
      this.byId.set(event.source, row);
    }
    const before = row.state;
    switch (event.state) {
      case 'checking':
        Object.assign(row, { state: 'checking', done: 0, total: event.size });
        break;
      case 'compressing':
        Object.assign(row, { state: 'compressing', done: event.read, total: event.size });
        break;
      case 'uploading':
        Object.assign(row, { state: 'uploading', done: event.sent, total: event.size });
        break;
      default:
        Object.assign(row, { state: finalState[event.state], done: event.size, total: event.size });
        if (event.from) row.from = event.from;
    }
    return { row, changed: created || row.state !== before };
  }
}

/**
 * Shows a copy as it goes: on a terminal one bar per blob with bytes, speed and ETA and its state, like
 * `docker push`; elsewhere one line per state change (logs stay readable); or nothing.
 */
export function copyProgress(mode: ProgressMode, out: NodeJS.WriteStream): CopyProgress {
  if (mode === 'none') return { onEvent: () => {}, stop: () => {} };
  const model = new CopyProgressModel();
  if (mode === 'lines') {
    return {
      onEvent(event) {
        if (event.type === 'manifest') {
          out.write(
            `manifest ${event.digest}${event.platform ? ` (${event.platform})` : ''} -> ${event.reference}\n`,
          );
          return;
        }
        const { row, changed } = model.apply(event);
        if (!changed || row.state === 'checking') return;
        const from = row.from ? ` from ${row.from}` : '';
        out.write(`${row.name} ${formatBytes(row.total)} ${row.state}${from}\n`);
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
  const bars = new Map<string, { bar: cliProgress.SingleBar; started: number; from: number }>();
  return {
    onEvent(event) {
      if (event.type !== 'blob') return;
      const { row, changed } = model.apply(event);
      let entry = bars.get(row.id);
      if (!entry) {
        entry = { bar: multi.create(row.total, 0, {}), started: Date.now(), from: 0 };
        bars.set(row.id, entry);
      }
      // Speed and ETA are of the current step (compressing, then uploading), so each step restarts the clock.
      // A resumed upload starts above 0: its speed counts only what moves now.
      if (changed) Object.assign(entry, { started: Date.now(), from: row.done });
      const moving = row.state === 'compressing' || row.state === 'uploading';
      const seconds = Math.max((Date.now() - entry.started) / 1000, 0.001);
      const rate = (row.done - entry.from) / seconds;
      entry.bar.setTotal(Math.max(row.total, 1));
      entry.bar.update(row.done, {
        name: row.name,
        state: row.from ? `${row.state} from ${row.from}` : row.state,
        done: formatBytes(row.done),
        size: formatBytes(row.total),
        speed: moving && row.done > 0 ? `${formatBytes(rate)}/s` : '',
        remaining:
          moving && rate > 0 && row.done < row.total
            ? `ETA ${Math.ceil((row.total - row.done) / rate)}s`
            : '',
      });
    },
    stop() {
      multi.stop();
    },
  };
}
