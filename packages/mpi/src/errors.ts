/** A peer rank died (or the launcher stopped the job because one did) while this rank waited for it. */
export class MpiPeerError extends Error {
  override name = 'MpiPeerError';
  constructor(
    message: string,
    /** The rank that died. */
    readonly rank: number,
  ) {
    super(message);
  }
}

/** A collective did not complete within the configured timeout (`LM_MPI_TIMEOUT` / `timeoutSeconds`). */
export class MpiTimeoutError extends Error {
  override name = 'MpiTimeoutError';
}

/** The addon is not built or MPI is not usable; the message says what is missing and how to fix it. */
export class MpiUnavailableError extends Error {
  override name = 'MpiUnavailableError';
}

/** Rethrows a native error as the matching typed error. */
export function typedError(e: unknown): never {
  const err = e as Error & { code?: string; rank?: number };
  if (err?.code === 'LM_MPI_PEER_DIED') throw new MpiPeerError(err.message, err.rank ?? -1);
  if (err?.code === 'LM_MPI_TIMEOUT') throw new MpiTimeoutError(err.message);
  throw e;
}
