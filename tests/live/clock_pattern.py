"""A wall clock drawn into video frames as a machine-readable pattern, and read back from the
decoded frame in the browser: glass-to-glass latency without OCR (bench/live_latency.py and
the LL-HLS browser test).

`ClockEncoder` generates raw frames in Python at the frame rate, each carrying the wall clock
of its own creation (the "glass": the moment a camera would have captured it) as two rows of
34 square cells near the top: a white start cell, the 32 bits of the time in milliseconds
(mod 2**32, most significant first), a black end cell; the second row is the first one
inverted, so a misread frame (a scaled, blurred or half-decoded one) is rejected rather than
read wrong. The background moves so the encoder has real work. ffmpeg reads the frames on its
standard input and encodes/publishes them with the caller's output options. The tone (when
asked for) is written by the same loop, 1/fps of it after each frame, on a second pipe: the
two streams keep one clock. (A `-re` lavfi tone ran on ffmpeg's own clock: after a stall on a
busy CI machine it lagged the frames for good, and `-shortest` then held every frame back by
up to its 10 s buffer: CI read 10.7 s glass-to-glass where hls.js said 1.3 s.)

`READ_JS` (a function of the <video>) draws the current frame onto a canvas and answers
`{ok, latency}`: Date.now() minus the drawn clock, in ms (same machine, same clock)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import BinaryIO

import imageio_ffmpeg
import numpy as np

BITS = 32
CELLS = BITS + 2
CELL = 16  # pixels at the source size; still 8 px in a 240p rendition of a 480p source
TOP = 16
LEFT = 16
RATE = 48_000  # the tone's sample rate


def tone(first: int, count: int) -> bytes:
    """`count` samples of a 440 Hz tone from sample `first` on (s16le, mono, RATE)."""
    t = (np.arange(first, first + count) % RATE) / RATE
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


def draw_clock(y_plane: np.ndarray, ms: int) -> None:
    """Draw `ms` (mod 2**32) into a frame's luma plane (in place)."""
    value = ms % (1 << BITS)
    bits = [1] + [(value >> (BITS - 1 - i)) & 1 for i in range(BITS)] + [0]
    for index, bit in enumerate(bits):
        x = LEFT + index * CELL
        y_plane[TOP:TOP + CELL, x:x + CELL] = 235 if bit else 16
        y_plane[TOP + CELL:TOP + 2 * CELL, x:x + CELL] = 16 if bit else 235


class ClockEncoder:
    """ffmpeg fed with clock frames in real time. `output` is everything after the input
    (codec options and the destination; `stdout=subprocess.PIPE` for `pipe:1`); `audio`
    adds a tone input (a real-time lavfi)."""

    def __init__(self, output: Sequence[str], *, width: int = 854, height: int = 480,
                 fps: int = 30, audio: bool = True, seconds: float = 60.0,
                 stdout: int = subprocess.DEVNULL) -> None:
        self.width, self.height, self.fps, self.seconds = width, height, fps, seconds
        inputs = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{width}x{height}",
                  "-framerate", str(fps), "-i", "pipe:0"]
        self._audio: BinaryIO | None = None
        audio_read = -1
        if audio:
            audio_read, audio_write = os.pipe()
            self._audio = os.fdopen(audio_write, "wb")
            inputs += ["-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i", f"pipe:{audio_read}"]
        self.proc = subprocess.Popen(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
             "-fflags", "nobuffer", *inputs, *(["-shortest"] if audio else []), *output],
            stdin=subprocess.PIPE, stdout=stdout, stderr=subprocess.PIPE,
            pass_fds=(audio_read,) if audio else ())
        if audio:
            os.close(audio_read)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        w, h = self.width, self.height
        ramp = (np.arange(2 * w, dtype=np.uint16) * 219 // (2 * w) + 16).astype(np.uint8)
        chroma = np.full(w * h // 2, 128, dtype=np.uint8)
        samples = RATE // self.fps
        start = time.monotonic()
        frames = int(self.seconds * self.fps)
        assert self.proc.stdin is not None
        try:
            for n in range(frames):
                due = start + n / self.fps
                delay = due - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                if self._stop.is_set():
                    break
                shift = (n * 8) % w
                y = np.broadcast_to(ramp[shift:shift + w], (h, w)).copy()
                y[h // 2:, :] = 255 - y[h // 2:, :] // 2  # a second band moving the other way
                draw_clock(y, time.time_ns() // 1_000_000)  # the glass: this frame, now
                self.proc.stdin.write(y.tobytes() + chroma.tobytes())
                self.proc.stdin.flush()
                if self._audio is not None:
                    self._audio.write(tone(n * samples, samples))
                    self._audio.flush()
        except (BrokenPipeError, ValueError):
            return
        finally:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.proc.stdin.close()
            if self._audio is not None:
                with contextlib.suppress(BrokenPipeError, OSError):
                    self._audio.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()


# Arguments: [video, source width]. Answers {ok: false} when the frame holds no valid clock.
READ_JS = f"""([video, sourceWidth]) => {{
  const w = video.videoWidth, h = video.videoHeight;
  if (!w || !h) return {{ok: false}};
  const scale = w / sourceWidth;
  const canvas = window.__clockCanvas || (window.__clockCanvas = document.createElement('canvas'));
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d', {{willReadFrequently: true}});
  ctx.drawImage(video, 0, 0, w, h);
  const now = Date.now();
  const cell = {CELL} * scale, top = {TOP} * scale, left = {LEFT} * scale;
  const luma = (x, y) => {{
    const d = ctx.getImageData(Math.round(x - 1), Math.round(y - 1), 2, 2).data;
    let sum = 0;
    for (let i = 0; i < 16; i += 4) sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    return sum / 4;
  }};
  const bits = [];
  for (let i = 0; i < {CELLS}; i++) {{
    const x = left + (i + 0.5) * cell;
    const a = luma(x, top + 0.5 * cell) > 128, b = luma(x, top + 1.5 * cell) > 128;
    if (a === b) return {{ok: false}};
    bits.push(a ? 1 : 0);
  }}
  if (bits[0] !== 1 || bits[{CELLS - 1}] !== 0) return {{ok: false}};
  let value = 0;
  for (let i = 1; i <= {BITS}; i++) value = value * 2 + bits[i];
  const modulus = 2 ** {BITS};
  const latency = (((now % modulus) - value) % modulus + modulus) % modulus;
  return {{ok: true, latency}};
}}"""

# Installs a requestVideoFrameCallback loop that reads every presented frame's clock into
# window.__latencies (ms). Arguments: [video, source width].
WATCH_JS = """([video, sourceWidth]) => {
  window.__latencies = []; window.__misreads = 0;
  const read = READ;
  const onFrame = () => {
    const r = read([video, sourceWidth]);
    if (r.ok) window.__latencies.push(r.latency); else window.__misreads += 1;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}""".replace("READ", READ_JS)
