// The PKI failures a caller can act on. Bad input from a client (CSR, token,
// certificate) is a BadRequest; unusable files on disk and an untrusted server are not.
import { BadRequest, FlotillaError } from '../../errors.ts';

/** A CSR that is malformed, has the wrong key type or a signature that does not verify. */
export class InvalidCsr extends BadRequest {
  constructor(message: string) {
    super(message, 'csr');
  }
}

/** Text that should be a PEM certificate and is not. */
export class InvalidCertificate extends BadRequest {
  constructor(message: string) {
    super(message, 'certificate');
  }
}

/** An enrollment token that does not have the FLT1-<fingerprint>-<secret> shape. */
export class InvalidToken extends BadRequest {
  constructor(message: string) {
    super(message, 'token');
  }
}

/** A key or certificate file in the cluster directory cannot be used; `file` names it. */
export class PkiFileCorrupt extends FlotillaError {
  override readonly code = 'pki_file_corrupt';
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.file = file;
  }
}

/** The server an agent dialled cannot prove it is the one whose CA the token names. */
export class UntrustedServer extends FlotillaError {
  override readonly statusCode = 502;
  override readonly code = 'untrusted_server';
}
