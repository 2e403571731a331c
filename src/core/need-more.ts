/** Returned by a decoder when the buffer holds a valid prefix but not a whole message yet. */
export const NEED_MORE = Symbol('NEED_MORE');
export type NeedMore = typeof NEED_MORE;

export interface DecodeResult<T> {
  readonly value: T;
  readonly bytesRead: number;
}

export type Decoded<T> = DecodeResult<T> | NeedMore;

export type Decoder<T> = (buf: Buffer, offset: number) => Decoded<T>;

/** Invalid bytes from the network. `code` is stable; the message never carries payload secrets. */
export class CodecError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CodecError';
  }
}
