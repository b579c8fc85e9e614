/**
 * TLS material for the links to PostgreSQL, Redis and NATS: file paths from configuration, read
 * once when a client is made. A client given a CA verifies the server's certificate and name;
 * a client certificate and key are sent when the server asks for one (mutual TLS).
 */
import { readFileSync } from 'node:fs';

export interface TlsFiles {
  /** PEM file of the CA(s) that signed the server's certificate. */
  caFile: string;
  /** Client certificate and key (PEM), for servers that require mutual TLS. */
  certFile?: string;
  keyFile?: string;
}

export interface TlsMaterial {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export function readTls(files: TlsFiles): TlsMaterial {
  return {
    ca: readFileSync(files.caFile),
    ...(files.certFile ? { cert: readFileSync(files.certFile) } : {}),
    ...(files.keyFile ? { key: readFileSync(files.keyFile) } : {}),
  };
}
