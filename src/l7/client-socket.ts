/**
 * A client socket read into a reused buffer: the listener's accepted socket (unread, with
 * pauseOnConnect) is given Node's `onread` behaviour in place (listeners/adopt-socket.ts), so a
 * read allocates nothing and skips stream events. The bytes handed to onBytes() are
 * borrowed: kept ones go through own(), and a write still queued with them calls
 * readBufferRetained(). Falls back to 'data' events where the socket cannot be adopted.
 */
import type { Socket } from 'node:net';
import { ReusableReadBuffer } from '../core/read-buffer.js';
import { adoptWithReadBuffer } from '../listeners/adopt-socket.js';

/** Requests are small; uploads that fill a read get Node's own read size. */
const READ_BUFFER_BYTES = 4 * 1024;
const READ_BUFFER_MAX = 64 * 1024;

export abstract class ClientSocket {
  readonly socket: Socket;
  private readonly readBuffer = new ReusableReadBuffer(READ_BUFFER_BYTES, READ_BUFFER_MAX);
  private borrowed = false;
  private paused = false;
  private address: string | undefined | null = null;

  constructor(accepted: Socket) {
    const onread = { buffer: this.readBuffer.next, callback: this.onRead };
    const adopted = adoptWithReadBuffer(accepted, onread);
    this.socket = adopted ?? accepted;
    if (adopted === undefined) this.socket.on('data', this.onData);
  }

  /** Bytes the client sent (borrowed while `bytesBorrowed`). */
  protected abstract onBytes(chunk: Buffer): void;

  /** The client's address, asked of the socket once (x-forwarded-for, pickers, each request). */
  get remoteAddress(): string | undefined {
    if (this.address === null) this.address = this.socket.remoteAddress;
    return this.address;
  }

  /** Whether bytes handed on right now live in the reused read buffer. */
  get bytesBorrowed(): boolean {
    return this.borrowed;
  }

  /** A write still queued points into the read buffer: the next read uses another. */
  readBufferRetained(): void {
    this.readBuffer.retain();
  }

  /** Bytes kept beyond the current read: copied out of the read buffer when borrowed. */
  protected own(bytes: Buffer): Buffer {
    return this.borrowed ? Buffer.from(bytes) : bytes;
  }

  /** Runs `work` on bytes that are not the read buffer's (a concatenation, held bytes). */
  protected withOwnedBytes(work: () => void): void {
    const borrowed = this.borrowed;
    this.borrowed = false;
    work();
    this.borrowed = borrowed;
  }

  /** The socket goes to another reader (HTTP/2): no more bytes come here. */
  protected detach(): void {
    this.socket.removeListener('data', this.onData);
    this.socket.pause();
  }

  /** Reading was paused (backpressure, or bytes held until the exchange wants them). */
  get readingPaused(): boolean {
    return this.paused;
  }

  pauseReading(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  resumeReading(): void {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private readonly onRead = (length: number, buf: Buffer): boolean => {
    this.readBuffer.read(length);
    this.borrowed = true;
    this.onBytes(buf.subarray(0, length));
    this.borrowed = false;
    return true;
  };

  private readonly onData = (chunk: Buffer): void => {
    this.onBytes(chunk);
  };
}
