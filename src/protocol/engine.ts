/**
 * Holds the current oidc-provider instance behind one request handler, so key rotation can build
 * a new provider from the same factory and swap it in without dropping a request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Provider } from 'oidc-provider';
import type { KeySet } from '../infra/signing-keys.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export class OAuthEngine {
  readonly #build: (keys: KeySet) => Provider;
  #provider: Provider;
  #handler: Handler;

  constructor(build: (keys: KeySet) => Provider, keys: KeySet) {
    this.#build = build;
    this.#provider = build(keys);
    this.#handler = this.#provider.callback() as Handler;
  }

  get provider(): Provider {
    return this.#provider;
  }

  /** Builds a provider for a new key set and routes every later request to it. */
  rebuild(keys: KeySet): void {
    const provider = this.#build(keys);
    this.#handler = provider.callback() as Handler;
    this.#provider = provider;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.#handler(req, res);
  }
}
