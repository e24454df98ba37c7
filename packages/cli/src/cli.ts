#!/usr/bin/env node
import { runCli } from './cli-program.js';

// The only file with side effects: it hands the process's streams and environment to runCli.
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
