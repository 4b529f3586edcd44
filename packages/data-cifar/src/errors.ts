/** Errors of @lm/data-cifar. Every error about bad input names the file and what is wrong with it. */

/** No local copy of the dataset was found and downloading was disabled or failed for network reasons. */
export class CifarNotFoundError extends Error {
  /** Places that were searched, in order. */
  readonly searched: string[];
  constructor(message: string, searched: string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CifarNotFoundError';
    this.searched = searched;
  }
}

/** A file (archive, batch file, label names) is malformed: truncated, wrong size, wrong content. */
export class CifarFormatError extends Error {
  /** The offending file (for archive members: `archive.tar.gz:member/path`). */
  readonly file: string;
  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`, options);
    this.name = 'CifarFormatError';
    this.file = file;
  }
}

/** A downloaded file does not have the expected checksum. The file has been deleted and is never used. */
export class CifarChecksumError extends Error {
  readonly file: string;
  readonly algorithm: 'md5' | 'sha256';
  readonly expected: string;
  readonly actual: string;
  constructor(file: string, algorithm: 'md5' | 'sha256', expected: string, actual: string, url?: string) {
    super(
      `${file}: checksum mismatch: expected ${algorithm} ${expected}, got ${actual}${url ? ` (downloaded from ${url})` : ''}; the download was deleted and is not used`,
    );
    this.name = 'CifarChecksumError';
    this.file = file;
    this.algorithm = algorithm;
    this.expected = expected;
    this.actual = actual;
  }
}
