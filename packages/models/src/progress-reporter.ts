import cliProgress from 'cli-progress';

/** Progress of long model work (downloads, conversions): a bar on a terminal, plain lines otherwise (CI, logs). */
export interface ProgressReporter {
  /** A step without a measurable size, e.g. a line from a converter. */
  note(message: string): void;
  /** A step of `total` units (bytes); call `update` with the units done so far and `finish` once. */
  task(label: string, total: number): ProgressTask;
}

export interface ProgressTask {
  update(done: number): void;
  finish(): void;
}

export const silentProgress: ProgressReporter = {
  note() {},
  task: () => ({ update() {}, finish() {} }),
};

const lineStepPercent = 10;

export function createProgressReporter(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  const tty = stream.isTTY === true;
  return {
    note(message) {
      stream.write(`${message}\n`);
    },
    task(label, total) {
      if (tty) {
        const bar = new cliProgress.SingleBar(
          {
            stream,
            format: `${label} [{bar}] {percentage}% | {done}/{size} | {eta_formatted}`,
            hideCursor: true,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0, { done: formatBytes(0), size: formatBytes(total) });
        return {
          update: (done) => bar.update(done, { done: formatBytes(done) }),
          finish: () => bar.stop(),
        };
      }
      // Without a terminal: one line per tenth, so a log shows that work moves without drowning in lines.
      let reported = -1;
      const report = (done: number) => {
        const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
        const step = Math.floor(percent / lineStepPercent) * lineStepPercent;
        if (step <= reported) return;
        reported = step;
        stream.write(`${label}: ${step}% (${formatBytes(done)} of ${formatBytes(total)})\n`);
      };
      report(0);
      return { update: report, finish: () => report(total) };
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
