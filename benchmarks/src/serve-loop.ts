/**
 * The server side of a lockstep measurement (see lockstep.ts): reads one command a line on stdin, runs it, and
 * answers with one JSON line on stdout, `{"cmd":"train","ms":512.3,"cpu_ms":1020.1}` (wall and CPU milliseconds,
 * the CPU time of all the process's threads); an unknown command gets `{"error":"..."}`.
 * `quit` or the end of stdin ends the loop. While it waits for a line this process computes nothing, so the
 * other side has the cores to itself. Everything else the process prints goes to stderr, so stdout stays the
 * protocol.
 */
import { createInterface } from 'node:readline';

const reply = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

/** Sends console.log/info to stderr: call it before loading anything that may print. */
export function reserveStdoutForProtocol(): void {
  console.log = console.error;
  console.info = console.error;
}

/** Sends the ready line (`{"ready":true,...}`) and serves the commands until `quit` or the end of stdin. */
export async function serveCommands(commands: Record<string, () => void>, ready: Record<string, unknown>): Promise<void> {
  reply({ ready: true, ...ready });
  for await (const raw of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    const cmd = raw.trim();
    if (cmd === 'quit') break;
    const run = commands[cmd];
    if (!run) {
      reply({ error: `unknown command ${JSON.stringify(cmd)} (expected one of ${[...Object.keys(commands), 'quit'].join(', ')})` });
      continue;
    }
    const c0 = process.cpuUsage(), t0 = performance.now();
    run();
    // work the command deferred (microtasks, immediates: e.g. disposals after a backward pass) is part of it
    await new Promise((resolve) => setImmediate(resolve));
    const ms = performance.now() - t0, cpu = process.cpuUsage(c0);
    reply({ cmd, ms, cpu_ms: (cpu.user + cpu.system) / 1000 });
  }
}
