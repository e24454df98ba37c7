import { MultiBar, Presets } from 'cli-progress';
import type { Output } from './cli-io.js';

export interface Progress {
  /** One more item done; `label` names it. */
  tick(label: string): void;
  /** A line for the user that must not garble the bar. */
  log(line: string): void;
  done(): void;
}

/** Plain lines are written at most this often, so a log file does not get a line per file. */
const plainIntervalMs = 2000;

/**
 * A progress bar on a terminal; on anything else (a pipe, a CI log) a plain "phase: n/total" line now and
 * then, and one at the end.
 */
export function startProgress(stream: Output, phase: string, total: number): Progress {
  if (stream.isTTY === true) return barProgress(stream, phase, total);
  let done = 0;
  let lastLine = Date.now();
  stream.write(`${phase}: 0/${total}\n`);
  return {
    tick() {
      done++;
      if (done < total && Date.now() - lastLine >= plainIntervalMs) {
        lastLine = Date.now();
        stream.write(`${phase}: ${done}/${total}\n`);
      }
    },
    log(line) {
      stream.write(`${line}\n`);
    },
    done() {
      stream.write(`${phase}: ${done}/${total}\n`);
    },
  };
}

function barProgress(stream: Output, phase: string, total: number): Progress {
  const bars = new MultiBar(
    {
      stream,
      format: `${phase} {bar} {value}/{total} {label}`,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
    },
    Presets.shades_classic,
  );
  const bar = bars.create(total, 0, { label: '' });
  return {
    tick(label) {
      bar.increment(1, { label });
    },
    log(line) {
      bars.log(`${line}\n`);
    },
    done() {
      bar.update({ label: '' });
      bars.stop();
    },
  };
}
