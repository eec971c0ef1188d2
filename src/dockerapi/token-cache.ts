// Bearer tokens seen by the Docker endpoint, remembered for a few seconds: a
// docker CLI command makes several calls in a row, and each would otherwise
// hash and look up the token in the store. A revoked token stops working
// within TTL_MS; role changes likewise.
import type { Store } from '../store/index.ts';
import type { User } from '../store/users-repo.ts';

const TTL_MS = 5000;
const MAX_ENTRIES = 1000;

export class TokenCache {
  private readonly store: Store;
  private readonly entries = new Map<string, { at: number; user: User | undefined }>();

  constructor(store: Store) {
    this.store = store;
  }

  async lookup(token: string): Promise<User | undefined> {
    const hit = this.entries.get(token);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.user;
    const user = (await this.store.users.userForToken(token))?.user;
    // Unknown tokens are not remembered: a flood of guesses must not evict real entries.
    if (user) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(token, { at: Date.now(), user });
    } else {
      this.entries.delete(token);
    }
    return user;
  }
}
