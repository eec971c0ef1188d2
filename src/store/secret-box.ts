// Encryption at rest for secrets we must be able to read back (TLS keys of
// direct hosts, later registry credentials): AES-256-GCM with a random key
// kept beside the database, mode 0600, created on first use.
import crypto from 'node:crypto';
import fs from 'node:fs';

export class SecretBox {
  private readonly key: Buffer;

  private constructor(key: Buffer) {
    this.key = key;
  }

  static openOrCreate(keyFile: string): SecretBox {
    let key: Buffer;
    try {
      key = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'base64');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      key = crypto.randomBytes(32);
      // wx: never overwrite a key another process just wrote.
      fs.writeFileSync(keyFile, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    }
    if (key.length !== 32) throw new Error(`secret key file ${keyFile} is corrupt (expected 32 bytes, base64)`);
    fs.chmodSync(keyFile, 0o600);
    return new SecretBox(key);
  }

  seal(plaintext: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join('.');
  }

  open(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('sealed secret has an unknown format');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  }
}
