/**
 * TLS for the test servers: one private CA per test process (a test file), made on first use in a
 * throwaway directory (openssl, a few milliseconds), and a random password per server and role.
 */
import { randomBytes } from 'node:crypto';
import { type CertSet, generateDevCerts } from '../../src/link/certs.ts';
import { tempDir } from './process.ts';

let certs: CertSet | undefined;

export function testCerts(): CertSet {
  certs ??= generateDevCerts(tempDir('certs'));
  return certs;
}

/** URL-safe, so it can sit in a connection URL as it is. */
export function testPassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * FENQI_TEST_TLS=off starts the servers without TLS (credentials and permissions unchanged), for
 * one thing only: `npm run bench:flash -- --compare-tls` measuring what TLS costs. Tests never set it.
 */
export function harnessTls(): boolean {
  return process.env.FENQI_TEST_TLS !== 'off';
}
