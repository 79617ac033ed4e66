import { spawn } from 'node:child_process';

/** Runs a writer script on `dir`, hands it every line it prints, and kills it with SIGKILL as soon as `onLine` says so. */
export function runUntilKilled(script: string, dir: string, onLine: (line: string) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      let kill = false;
      for (const line of lines) kill = onLine(line) || kill;
      if (kill && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited without being killed (${signal})`))));
  });
}
