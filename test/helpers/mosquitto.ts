import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A real Mosquitto from Debian on loopback, no persistence (so retained state lives only while it runs). */
export class Mosquitto {
  private child?: ChildProcess;
  private readonly conf: string;
  /** Everything the broker logged on stderr (add `log_type subscribe` to `extra` to see subscriptions with their QoS). */
  log = '';

  readonly dir = mkdtempSync(join(tmpdir(), 'choco-mosquitto-'));

  /** `extra` lines go under the listener (TLS files, password file). */
  constructor(
    readonly port: number,
    extra: string[] = ['allow_anonymous true'],
  ) {
    // Run as root, mosquitto drops to its own user before reading certificates: let it read them.
    chmodSync(this.dir, 0o755);
    this.conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(this.conf, [`per_listener_settings true`, `listener ${port} 127.0.0.1`, ...extra, 'persistence false', 'log_dest stderr', ''].join('\n'));
  }

  /** A throw-away CA and a server certificate for 127.0.0.1, made with openssl. */
  makeTlsFiles(): { ca: string; cert: string; key: string } {
    const f = (name: string) => join(this.dir, name);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=choco-test-ca', '-keyout', f('ca.key'), '-out', f('ca.pem'));
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'));
    writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('san.ext'), '-out', f('server.pem'));
    for (const name of ['ca.pem', 'server.pem', 'server.key']) chmodSync(f(name), 0o644);
    return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
  }

  /** A mosquitto password file with one user. */
  makePasswordFile(user: string, password: string): string {
    const file = join(this.dir, 'passwords');
    writeFileSync(file, '');
    execFileSync('mosquitto_passwd', ['-b', file, user, password], { stdio: 'ignore' });
    chmodSync(file, 0o644);
    return file;
  }

  async start(): Promise<void> {
    if (!MOSQUITTO) throw new Error('mosquitto is not installed (apt-get install mosquitto)');
    this.child = spawn(MOSQUITTO, ['-c', this.conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.log = '';
    this.child.stderr!.on('data', (c: Buffer) => (this.log += c.toString()));
    for (let i = 0; i < 100 && this.child.exitCode === null; i++) {
      if (await canConnect(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`mosquitto did not start:\n${this.log}`);
  }

  /** Freezes the broker (SIGSTOP): its sockets stay open and the kernel still accepts bytes, but nothing answers. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Thaws a paused broker (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGCONT'); // a paused broker cannot act on SIGTERM
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
