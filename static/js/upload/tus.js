// A tus 1.0 core client for our signed upload URL: PATCH chunks at the server's offset,
// and after any failure ask the server where it stands (HEAD → Upload-Offset) and go on
// from there. XMLHttpRequest rather than fetch: only it reports upload progress.

const TUS = "1.0.0";
export const CHUNK_BYTES = 1024 * 1024;
const MAX_FAILURES = 6; // in a row; the offset moving resets the count

function request(method, url, { headers = {}, body = null, onProgress = null, timeoutMs = 120000, onStart = null } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    if (onStart) onStart(xhr);
    xhr.open(method, url);
    xhr.timeout = timeoutMs;
    xhr.setRequestHeader("Tus-Resumable", TUS);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(new Error("network"));
    xhr.ontimeout = () => reject(new Error("timeout"));
    xhr.onabort = () => reject(new Error("aborted"));
    xhr.send(body);
  });
}

export async function serverOffset(url) {
  const xhr = await request("HEAD", url);
  if (xhr.status !== 200) {
    const error = new Error(`HEAD ${xhr.status}`);
    error.status = xhr.status;
    throw error;
  }
  return {
    offset: Number(xhr.getResponseHeader("Upload-Offset")),
    length: Number(xhr.getResponseHeader("Upload-Length")),
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class TusUpload {
  constructor(file, url, { onProgress = () => {}, onRetry = () => {}, chunkBytes = CHUNK_BYTES } = {}) {
    this.file = file;
    this.url = url;
    this.onProgress = onProgress;
    this.onRetry = onRetry;
    this.chunkBytes = chunkBytes;
    this.offset = 0;
    this.stopped = false;
  }

  /** Resolves when every byte is on the server; rejects after repeated failures or a
   *  definitive refusal (404: the URL expired; 413/415: the server will never take it). */
  async run() {
    let failures = 0;
    ({ offset: this.offset } = await serverOffset(this.url));
    this.onProgress(this.offset, this.file.size);
    while (this.offset < this.file.size) {
      if (this.stopped) throw new Error("stopped");
      const end = Math.min(this.offset + this.chunkBytes, this.file.size);
      const start = this.offset;
      try {
        const xhr = await request("PATCH", this.url, {
          headers: { "Upload-Offset": String(start), "Content-Type": "application/offset+octet-stream" },
          body: this.file.slice(start, end),
          onProgress: (sent) => this.onProgress(start + sent, this.file.size),
          onStart: (xhr) => { this.xhr = xhr; },
        });
        if (xhr.status === 204) {
          this.offset = Number(xhr.getResponseHeader("Upload-Offset"));
          failures = 0;
          this.onProgress(this.offset, this.file.size);
          continue;
        }
        if ([404, 410, 412, 413, 415].includes(xhr.status)) {
          const error = new Error(this.describe(xhr));
          error.status = xhr.status;
          throw error;
        }
        if (xhr.status === 409 && xhr.responseText.includes("upload_complete")) {
          this.offset = this.file.size;
          break;
        }
        throw new Error(`PATCH ${xhr.status}`); // 409 offset_mismatch, 5xx: ask and resume
      } catch (error) {
        if (error.status) throw error;
        if (this.stopped) throw error;
        failures += 1;
        if (failures >= MAX_FAILURES) throw new Error("The upload keeps failing. Check your connection and retry.", { cause: error });
        this.onRetry(failures);
        await sleep(Math.min(500 * 2 ** (failures - 1), 8000));
        try {
          ({ offset: this.offset } = await serverOffset(this.url));
          this.onProgress(this.offset, this.file.size);
        } catch (headError) {
          if (headError.status === 404) throw new Error("This upload expired. Choose the file again.", { cause: headError });
          // offline: keep the offset we had and try again
        }
      }
    }
    this.onProgress(this.file.size, this.file.size);
  }

  describe(xhr) {
    try {
      return JSON.parse(xhr.responseText).error.message;
    } catch {
      return `The server refused the upload (${xhr.status}).`;
    }
  }

  stop() {
    this.stopped = true;
    this.xhr?.abort();
  }
}

/** tus termination: the server deletes the bytes and frees the upload's slot. A 404 means
 *  it is gone already (expired or cancelled), which is what was asked. */
export async function terminate(url) {
  for (let attempt = 0; attempt < 4; attempt += 1) {
    const xhr = await request("DELETE", url);
    if (xhr.status === 204 || xhr.status === 404) return;
    if (xhr.status !== 409 || !xhr.responseText.includes("upload_busy")) {
      const error = new Error(`DELETE ${xhr.status}`);
      error.status = xhr.status;
      throw error;
    }
    await sleep(500 * (attempt + 1)); // a chunk was still being written
  }
  throw new Error("The upload could not be cancelled; try again.");
}
