import { createHash, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
// Types only (erased): the modules themselves are imported by loadOpcua, when an OPC UA device is configured.
import type { ClientSession, DataValue, OPCUAClient, UserIdentityInfo } from 'node-opcua-client';

type Client = typeof import('node-opcua-client');
type Certs = typeof import('node-opcua-certificate-manager');
export type { ClientSession, DataValue, OPCUAClient };

/** The endpoint part of an OPC UA device or line (config `opcua.devices[]`, `opcua.lines[]`). */
export type OpcuaEndpoint = Pick<Config['opcua']['devices'][number], 'endpointUrl' | 'security' | 'securityPolicy' | 'auth' | 'requestTimeoutMs' | 'sessionTimeoutMs' | 'secureChannelLifetimeMs' | 'maxBackoffMs'>;

/**
 * What went wrong, named for health (`code`) in the field's terms. Each one is a device's own fault: it never
 * stops the other devices.
 */
export type OpcuaFaultCode =
  | 'not_installed'
  | 'unreachable'
  | 'certificate_untrusted'
  | 'certificate_changed'
  | 'security_rejected'
  | 'login_failed'
  | 'timeout'
  | 'connection_lost'
  | 'session_closed'
  | 'session_timeout'
  | 'subscription_refused'
  | 'namespace_missing'
  | 'node_missing'
  | 'bad_status'
  | 'wrong_type'
  | 'write_refused'
  | 'readback_mismatch';

export class OpcuaFault extends Error {
  constructor(
    readonly code: OpcuaFaultCode,
    message: string,
  ) {
    super(message);
  }
}

export interface OpcuaModules {
  client: Client;
  certs: Certs;
}

let loading: Promise<OpcuaModules> | undefined;

/**
 * Imports node-opcua-client (an optional dependency) the first time an OPC UA device or line starts, so a gateway
 * without one never loads it. Its console warnings go to `log` at debug level (they are multi-line certificate
 * dumps; the gateway reports the same facts in health). Throws OpcuaFault `not_installed` when it is absent.
 */
export function loadOpcua(log: Logger): Promise<OpcuaModules> {
  loading ??= (async () => {
    const forward = (level: 'debug' | 'warn') => (...args: unknown[]) => log[level]({ module: 'node-opcua' }, args.map((a) => (typeof a === 'string' ? a : errorMessage(a))).join(' ').slice(0, 500));
    // node-opcua's loggers print with console.log, some while its modules load (a Node 20 note about PKCS#1 v1.5,
    // which only Basic128Rsa15 uses): during the import console.log goes to the log at debug, then the loggers are set.
    const consoleLog = console.log;
    console.log = forward('debug');
    try {
      const [client, certs] = await Promise.all([import('node-opcua-client'), import('node-opcua-certificate-manager')]).finally(() => (console.log = consoleLog));
      client.setWarningLogger(forward('debug'));
      client.setErrorLogger(forward('debug'));
      client.setDebugLogger(forward('debug'));
      return { client, certs };
    } catch (error) {
      loading = undefined;
      throw new OpcuaFault('not_installed', `OPC UA is configured but node-opcua-client cannot be loaded (${errorMessage(error)}); it is an optional dependency: install with npm ci (without --omit=optional)`);
    }
  })();
  return loading;
}

const SECURITY_MODE = { None: 1, Sign: 2, SignAndEncrypt: 3 } as const;
const POLICY_URI = {
  None: 'http://opcfoundation.org/UA/SecurityPolicy#None',
  Basic256Sha256: 'http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256',
  Aes128_Sha256_RsaOaep: 'http://opcfoundation.org/UA/SecurityPolicy#Aes128_Sha256_RsaOaep',
  Aes256_Sha256_RsaPss: 'http://opcfoundation.org/UA/SecurityPolicy#Aes256_Sha256_RsaPss',
} as const;

/** SHA-1 thumbprint (hex) of a DER certificate, as OPC UA tools show it. */
export function thumbprint(der: Buffer): string {
  return createHash('sha1').update(der).digest('hex');
}

/** An open session: the server's current NamespaceArray, and `lost` that resolves once, with why, when it ends. */
export interface OpcuaSession {
  client: OPCUAClient;
  session: ClientSession;
  namespaces: string[];
  /** Thumbprint of the server certificate the secure channel was opened with (null with security None). */
  serverThumbprint: string | null;
  lost: Promise<OpcuaFault>;
  /** Secure channel token renewals so far on this connection. */
  renewals(): number;
  close(): Promise<void>;
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new OpcuaFault('timeout', `${what}: no answer after ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** The client PKI folder: `opcua.pkiDir`, else `<dataDir>/opcua-pki` (the data directory is where the systemd unit lets us write). */
export function opcuaPkiDir(config: Pick<Config, 'dataDir'> & { opcua: Pick<Config['opcua'], 'pkiDir'> }): string {
  return resolve(config.opcua.pkiDir ?? join(config.dataDir, 'opcua-pki'));
}

export interface OpenOptions {
  /** The PKI folder: own/ (client certificate and key, created on first use), trusted/certs, rejected/. */
  pkiDir: string;
  /** `device <name>` or `line <name>`, for messages. */
  label: string;
  /** The thumbprint of the server certificate last trusted and used, to say "changed" when another one is refused. */
  knownThumbprint?: string | null;
  log: Logger;
}

/**
 * Opens a secure channel and a session to `e` and reads the NamespaceArray. node-opcua's own reconnection is off
 * (maxRetry 0): the caller reconnects with a fresh session, so namespaces are resolved again and a renumbered PLC
 * never receives a stale index. A fresh certificate manager reads the PKI folders at each attempt (no file watcher),
 * so a certificate moved from rejected/ to trusted/certs/ counts at the next attempt. Throws OpcuaFault.
 */
export async function openSession(m: OpcuaModules, e: OpcuaEndpoint, o: OpenOptions): Promise<OpcuaSession> {
  const { OPCUAClient, UserTokenType } = m.client;
  const certificateManager = new m.certs.OPCUACertificateManager({ rootFolder: o.pkiDir, automaticallyAcceptUnknownCertificate: false, disableFileWatchers: true } as ConstructorParameters<Certs['OPCUACertificateManager']>[0]);
  await certificateManager.initialize();
  // The certificate the server presented, whatever the verdict: a refused one is named by thumbprint in health.
  let presented: Buffer | null = null;
  const check = certificateManager.checkCertificate.bind(certificateManager);
  certificateManager.checkCertificate = ((certificate: Buffer, ...rest: unknown[]) => {
    presented = Buffer.from(Array.isArray(certificate) ? certificate[0] : certificate);
    return (check as (...a: unknown[]) => ReturnType<typeof check>)(certificate, ...rest);
  }) as typeof certificateManager.checkCertificate;
  const client = OPCUAClient.create({
    applicationName: 'choco-edge',
    clientName: `choco-edge ${o.label}`,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
    securityMode: SECURITY_MODE[e.security],
    securityPolicy: e.security === 'None' ? POLICY_URI.None : POLICY_URI[e.securityPolicy],
    endpointMustExist: false,
    clientCertificateManager: certificateManager,
    keepSessionAlive: true,
    keepAliveInterval: Math.max(500, Math.floor(e.sessionTimeoutMs / 3)),
    requestedSessionTimeout: e.sessionTimeoutMs,
    defaultSecureTokenLifetime: e.secureChannelLifetimeMs,
    defaultTransactionTimeout: e.requestTimeoutMs,
    transportTimeout: e.requestTimeoutMs,
  });
  let renewals = 0;
  client.on('security_token_renewed', () => renewals++);
  const deadline = e.requestTimeoutMs * 2 + 2_000;
  const serverThumb = () => (presented ? thumbprint(presented) : null);
  const dispose = async () => {
    await withDeadline(client.disconnect(), deadline, 'disconnect').catch(() => undefined);
    await certificateManager.dispose().catch(() => undefined);
  };
  try {
    await withDeadline(client.connect(e.endpointUrl), deadline, `${o.label}: connect to ${e.endpointUrl}`);
  } catch (error) {
    const thumb = serverThumb();
    await dispose();
    throw classifyConnectError(error, e, o, thumb);
  }
  let session: ClientSession;
  try {
    const a = e.auth;
    const identity: UserIdentityInfo =
      a.type === 'user'
        ? { type: UserTokenType.UserName, userName: a.username ?? '', password: typeof a.password === 'string' ? a.password : '' }
        : a.type === 'certificate'
          ? { type: UserTokenType.Certificate, certificateData: new X509Certificate(readFileSync(a.certificate!)).raw, privateKey: readFileSync(a.privateKey!, 'utf8') }
          : { type: UserTokenType.Anonymous };
    if (a.type === 'user' && (!a.username || typeof a.password !== 'string')) throw new OpcuaFault('login_failed', `${o.label}: auth type user needs username and password`);
    if (a.type === 'certificate' && (!a.certificate || !a.privateKey)) throw new OpcuaFault('login_failed', `${o.label}: auth type certificate needs certificate and privateKey`);
    session = await withDeadline(client.createSession(identity), deadline, `${o.label}: create session`);
  } catch (error) {
    await dispose();
    if (error instanceof OpcuaFault) throw error;
    const msg = errorMessage(error);
    if (/BadUserAccessDenied|BadIdentityToken|BadCertificate|BadUser|access denied|identity/i.test(msg)) throw new OpcuaFault('login_failed', `${o.label}: the server refused the login (${e.auth.type}${e.auth.username ? ` ${e.auth.username}` : ''}): ${short(msg)}`);
    if (/end ?point must exist|endpoint/i.test(msg)) throw new OpcuaFault('security_rejected', `${o.label}: the server offers no endpoint for ${e.security === 'None' ? 'security None' : `${e.securityPolicy} ${e.security}`} at ${e.endpointUrl}`);
    throw new OpcuaFault(/time/i.test(msg) ? 'timeout' : 'unreachable', `${o.label}: session refused: ${short(msg)}`);
  }
  let namespaces: string[];
  try {
    namespaces = await withDeadline(session.readNamespaceArray(), deadline, `${o.label}: read NamespaceArray`);
  } catch (error) {
    await withDeadline(session.close(), deadline, 'close session').catch(() => undefined);
    await dispose();
    throw new OpcuaFault('timeout', `${o.label}: reading the NamespaceArray failed: ${short(errorMessage(error))}`);
  }
  let settle: (f: OpcuaFault) => void = () => undefined;
  const lost = new Promise<OpcuaFault>((resolve) => (settle = resolve));
  let done = false;
  const end = (f: OpcuaFault) => {
    if (done) return;
    done = true;
    settle(f);
  };
  client.on('connection_lost', () => end(new OpcuaFault('connection_lost', `${o.label}: connection lost (server restarted, PLC stopped or network down)`)));
  client.on('close', (err?: Error | null) => end(new OpcuaFault('connection_lost', `${o.label}: connection closed${err ? `: ${short(errorMessage(err))}` : ''}`)));
  session.on('session_closed', (status: { toString(): string } | undefined) => end(new OpcuaFault('session_closed', `${o.label}: the server closed the session (${status?.toString() ?? 'no status'})`)));
  session.on('keepalive_failure', () => end(new OpcuaFault('session_timeout', `${o.label}: the session keep-alive failed (session timed out on the server, or the server is gone)`)));
  const serverThumbprint = e.security === 'None' ? null : serverThumb();
  return {
    client,
    session,
    namespaces,
    serverThumbprint,
    lost,
    renewals: () => renewals,
    async close() {
      done = true;
      settle(new OpcuaFault('connection_lost', `${o.label}: closed`));
      await withDeadline(session.close(true), deadline, 'close session').catch(() => undefined);
      await dispose();
    },
  };
}

function short(message: string): string {
  return message.split('\n')[0]!.slice(0, 300);
}

function classifyConnectError(error: unknown, e: OpcuaEndpoint, o: OpenOptions, thumb: string | null): OpcuaFault {
  if (error instanceof OpcuaFault) return error;
  const msg = errorMessage(error);
  if (/BadCertificateUntrusted|Certificate verification failed|BadCertificate/i.test(msg)) {
    const rejected = thumb ? rejectedFile(o.pkiDir, thumb) : undefined;
    const where = rejected ? `it was put in ${rejected}; to trust it, move it to ${join(o.pkiDir, 'trusted', 'certs')}/` : `put it in ${join(o.pkiDir, 'trusted', 'certs')}/ to trust it`;
    if (o.knownThumbprint && thumb && o.knownThumbprint !== thumb) {
      return new OpcuaFault('certificate_changed', `${o.label}: the server certificate changed (was ${o.knownThumbprint}, now ${thumb}) and is refused until trusted: ${where}`);
    }
    return new OpcuaFault('certificate_untrusted', `${o.label}: the server certificate${thumb ? ` ${thumb}` : ''} is not trusted: ${where}`);
  }
  // A server that is down fails in node-opcua's findEndpoint ("Fail to connect to server … (in findEndpoint)"): unreachable, not a security mismatch.
  if (/Fail(ed)? to connect to server|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|ECONNRESET/i.test(msg)) return new OpcuaFault('unreachable', `${o.label}: cannot connect to ${e.endpointUrl}: ${short(msg)}`);
  if (/endpoint|security ?mode|security ?policy|BadSecurity/i.test(msg)) return new OpcuaFault('security_rejected', `${o.label}: the server offers no endpoint for ${e.security === 'None' ? 'security None' : `${e.securityPolicy} ${e.security}`}: ${short(msg)}`);
  if (/timed? ?out|timeout/i.test(msg)) return new OpcuaFault('timeout', `${o.label}: ${short(msg)}`);
  return new OpcuaFault('unreachable', `${o.label}: cannot connect to ${e.endpointUrl}: ${short(msg)}`);
}

/** The file node-opcua wrote for a refused certificate, named `<subject>[<thumbprint>].pem` in rejected/. */
function rejectedFile(pkiDir: string, thumb: string): string | undefined {
  try {
    const name = readdirSync(join(pkiDir, 'rejected')).find((f) => f.toLowerCase().includes(thumb.toLowerCase()));
    return name ? join(pkiDir, 'rejected', name) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A DataValue as a number: numbers as they are, booleans as 0/1, Int64/UInt64 ([high, low]) joined; a bad status
 * or another type is an OpcuaFault (`bad_status`, `wrong_type`).
 */
export function numericValue(m: OpcuaModules, dv: DataValue): number {
  const status = dv.statusCode;
  if (status && status.isNotGood() && !status.isGoodish?.()) throw new OpcuaFault('bad_status', `status ${status.name ?? status.toString()}`);
  const v = dv.value?.value as unknown;
  const type = m.client.DataType[dv.value?.dataType ?? 0] ?? 'Null';
  if (Array.isArray(v) && v.length === 2 && (type === 'Int64' || type === 'UInt64') && v.every((x) => typeof x === 'number')) return (v[0] as number) * 2 ** 32 + (v[1] as number);
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new OpcuaFault('wrong_type', `value of type ${type}${Array.isArray(v) ? ' (array)' : ''}, expected a number`);
}
