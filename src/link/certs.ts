/**
 * A private development CA and the certificates fenqi's servers and clients use on one machine
 * (`fenqi ops certs`, the test harness, `fenqi ops up`). Production brings its own CA; these files
 * are only what a developer needs to run every link with TLS the way production does.
 *
 * Generated with Debian's `openssl` command: node's crypto can make keys but cannot sign an X.509
 * certificate, and the openssl CLI is on every machine that runs PostgreSQL, needs no npm
 * dependency, and its output is what an operator already knows how to inspect. Keys are ECDSA
 * P-256: every server here (PostgreSQL, Redis, NATS, etcd, Patroni) accepts them, and one
 * certificate costs milliseconds, so a test file can make its own.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Long enough for a development machine, short enough that a leaked file is not forever. */
export const DEV_CA_DAYS = 825;
export const DEV_CERT_DAYS = 397;
/** Directory and file modes: only the owner reads keys. */
export const CERT_DIR_MODE = 0o700;
export const CERT_FILE_MODE = 0o600;

export interface CertSet {
  dir: string;
  caFile: string;
  caKeyFile: string;
  /** Server certificate for every service on this machine (SAN: the given hosts). */
  serverCertFile: string;
  serverKeyFile: string;
  /** A client certificate (CN fenqi), for services that check client certificates (etcd). */
  clientCertFile: string;
  clientKeyFile: string;
}

export interface CertOptions {
  /** DNS names and IP addresses the server certificate is valid for. */
  hosts?: string[];
  clientName?: string;
  /** Replace files that already exist (default: keep them, so a rerun never invalidates a CA). */
  force?: boolean;
}

export const DEFAULT_CERT_HOSTS = ['localhost', '127.0.0.1', '::1'];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(file: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
  chmodSync(file, CERT_FILE_MODE);
}

function sanOf(hosts: string[]): string {
  return hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
}

/** A leaf certificate signed by the CA, for `usage` (serverAuth, clientAuth or both). */
function signLeaf(set: CertSet, keyFile: string, certFile: string, cn: string, extensions: string[]): void {
  newKey(keyFile);
  openssl([
    'req',
    '-new',
    '-x509',
    '-key',
    keyFile,
    '-out',
    certFile,
    '-days',
    String(DEV_CERT_DAYS),
    '-subj',
    `/O=fenqi development/CN=${cn}`,
    '-CA',
    set.caFile,
    '-CAkey',
    set.caKeyFile,
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    ...extensions.flatMap((e) => ['-addext', e]),
  ]);
  chmodSync(certFile, CERT_FILE_MODE);
}

export function certSetIn(dir: string): CertSet {
  const at = (name: string) => path.join(dir, name);
  return {
    dir,
    caFile: at('ca.crt'),
    caKeyFile: at('ca.key'),
    serverCertFile: at('server.crt'),
    serverKeyFile: at('server.key'),
    clientCertFile: at('client.crt'),
    clientKeyFile: at('client.key'),
  };
}

export interface ClientCert {
  certFile: string;
  keyFile: string;
}

/**
 * A client certificate for one named client (its CN is what the server maps to rights, e.g.
 * pgBackRest's tls-server-auth), signed by the set's CA, as <baseName>.crt/.key in the set's dir.
 */
export function issueClientCert(set: CertSet, cn: string, baseName: string): ClientCert {
  const cert = {
    certFile: path.join(set.dir, `${baseName}.crt`),
    keyFile: path.join(set.dir, `${baseName}.key`),
  };
  signLeaf(set, cert.keyFile, cert.certFile, cn, ['extendedKeyUsage=clientAuth']);
  return cert;
}

/** Makes (or keeps) a CA, a server and a client certificate under `dir`. */
export function generateDevCerts(dir: string, options: CertOptions = {}): CertSet {
  const set = certSetIn(path.resolve(dir));
  if (
    !options.force &&
    existsSync(set.caFile) &&
    existsSync(set.serverCertFile) &&
    existsSync(set.clientCertFile)
  )
    return set;
  if (options.force) rmSync(set.dir, { recursive: true, force: true });
  mkdirSync(set.dir, { recursive: true, mode: CERT_DIR_MODE });
  chmodSync(set.dir, CERT_DIR_MODE);
  newKey(set.caKeyFile);
  openssl([
    'req',
    '-new',
    '-x509',
    '-key',
    set.caKeyFile,
    '-out',
    set.caFile,
    '-days',
    String(DEV_CA_DAYS),
    '-subj',
    '/O=fenqi development/CN=fenqi development CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  chmodSync(set.caFile, CERT_FILE_MODE);
  const hosts = options.hosts ?? DEFAULT_CERT_HOSTS;
  // serverAuth and clientAuth: etcd and NATS cluster peers present their server certificate as clients
  signLeaf(set, set.serverKeyFile, set.serverCertFile, hosts[0] ?? 'localhost', [
    `subjectAltName=${sanOf(hosts)}`,
    'extendedKeyUsage=serverAuth,clientAuth',
  ]);
  signLeaf(set, set.clientKeyFile, set.clientCertFile, options.clientName ?? 'fenqi', [
    'extendedKeyUsage=clientAuth',
  ]);
  writeFileSync(
    path.join(set.dir, 'README'),
    'fenqi development CA: for one machine only. Production brings its own CA (docs/security.md).\n',
    { mode: CERT_FILE_MODE },
  );
  return set;
}
