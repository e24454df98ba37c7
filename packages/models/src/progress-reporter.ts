import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';

/**
 * Progress of long command-line work (model downloads and conversions, a folder's uploads and indexing): a bar on
 * a terminal, plain lines otherwise (CI, logs).
 */
export interface ProgressReporter {
  /** A line for the user (a step without a measurable size, a skipped file); never garbles a bar. */
  note(message: string): void;
  /** A step of `total` units (bytes, or items such as files); report what is done and call `finish` once. */
  task(label: string, total: number, unit?: ProgressUnit): ProgressTask;
}

export type ProgressUnit = 'bytes' | 'items';

export interface ProgressTask {
  /** `done` units of the total are done. */
  update(done: number): void;
  /** One more unit is done; `item` names it on a terminal's bar. */
  advance(item?: string): void;
  finish(): void;
}

export const silentProgress: ProgressReporter = {
  note() {},
  task: () => ({ update() {}, advance() {}, finish() {} }),
};

const lineStepPercent = 10;

export function createProgressReporter(
  stream: Writable & { isTTY?: boolean } = process.stderr,
): ProgressReporter {
  const tty = stream.isTTY === true;
  // The bars on screen now; a note goes through them so that it lands above the bars.
  let bars: cliProgress.MultiBar | undefined;
  return {
    note(message) {
      if (!bars) {
        stream.write(`${message}\n`);
        return;
      }
      // Drawn at once: the bars only draw what is logged on their next redraw, and stopping drops it.
      bars.log(`${message}\n`);
      bars.update();
    },
    task(label, total, unit = 'bytes') {
      let done = 0;
      const amount = (value: number) => (unit === 'bytes' ? formatBytes(value) : String(value));
      if (tty) {
        const multi = new cliProgress.MultiBar(
          {
            stream,
            format:
              unit === 'bytes'
                ? `${label} [{bar}] {percentage}% | {done}/{size} | {eta_formatted}`
                : `${label} [{bar}] {value}/{total} {item}`,
            hideCursor: true,
            clearOnComplete: false,
            stopOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        );
        bars = multi;
        const bar = multi.create(total, 0, { done: amount(0), size: amount(total), item: '' });
        const show = (item = '') => bar.update(done, { done: amount(done), item });
        return {
          update: (value) => {
            done = value;
            show();
          },
          advance: (item) => {
            done++;
            show(item);
          },
          finish: () => {
            show();
            multi.stop();
            if (bars === multi) bars = undefined;
          },
        };
      }
      // Without a terminal: one line per tenth, so a log shows that work moves without drowning in lines.
      let reported = -1;
      let lastLine = '';
      const write = () => {
        lastLine =
          unit === 'bytes'
            ? `${label}: ${reported}% (${amount(done)} of ${amount(total)})\n`
            : `${label}: ${done}/${total}\n`;
        stream.write(lastLine);
      };
      const report = () => {
        const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
        const step = Math.floor(percent / lineStepPercent) * lineStepPercent;
        if (step <= reported) return;
        reported = step;
        write();
      };
      report();
      return {
        update: (value) => {
          done = value;
          report();
        },
        advance: () => {
          done++;
          report();
        },
        finish: () => {
          if (unit === 'bytes') done = total;
          report();
          // Items may end short of the total (work given up): the last line says how far they came.
          if (unit === 'items' && lastLine !== `${label}: ${done}/${total}\n`) write();
        },
      };
    },
  };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
