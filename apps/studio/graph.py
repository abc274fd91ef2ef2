"""The render: an edit document compiled into ONE ffmpeg command with one filter graph.

Inputs are the clips' sources (trimmed with input seeking, so only the kept frames are
decoded), the stickers, the sound and the chroma key's background. The graph, in order:
each clip's speed, size and frame rate (and its audio's tempo or pitch) → the timeline,
joined by cuts (`concat`) or transitions (`xfade` and `acrossfade`) → chroma key over the
background → the colour preset (`lut3d`, apps/studio/luts) and `eq` → stickers
(`overlay`, timed) → text (`overlay` of PNGs drawn by apps.studio.textimage, with
colour emoji, timed) → burned-in captions (`ass`, libass); the
audio: the original's volume → the voice effect (`rubberband`, `afftfilt`, `aecho`) →
mixed with the sound (`amix`).

Duets and stitches (document version 2, `source`) go through the same graph: a stitch's
part of the original is the timeline's first clip (input `BORROWED`), cut to the creator's
clips; a duet stacks the original (left or on top) beside the creator's picture after its
look and before stickers and text, and mixes the original's sound with theirs
(`_duet_picture`, `_duet_sound`).

Pure: it builds arguments from the parsed document and local files; running it is the
service's job. The bench (bench/studio.py) compares it with a hand-written command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from apps.studio import luts
from apps.studio.document import BORROWED, TRANSITIONS, Document

FPS = 30
SAMPLE_RATE = 48000
FINAL_SHORT_EDGE = 720
PREVIEW_SHORT_EDGE = 240

# the voice effects, on the original audio (the sound is left as it is)
VOICE_FILTERS = {
    "none": "",
    # pitch moved by a fifth up / down, tempo kept (librubberband)
    "pitch_up": "rubberband=pitch=1.5:formant=shifted",
    "pitch_down": "rubberband=pitch=0.6667:formant=shifted",
    # the phase of every bin zeroed: a flat, buzzing voice (ffmpeg's afftfilt "robotize")
    "robot": ("afftfilt=real='hypot(re,im)*sin(0)':imag='hypot(re,im)*cos(0)'"
              ":win_size=512:overlap=0.75"),
    "echo": "aecho=0.8:0.88:120|240:0.45|0.25",
}


@dataclass(frozen=True)
class Source:
    path: Path
    has_audio: bool


@dataclass(frozen=True)
class StickerFile:
    path: Path
    animated: bool


@dataclass
class Inputs:
    """Local files for every id the document names (the service fetches them)."""

    sources: dict[int, Source]
    stickers: dict[int, StickerFile] = field(default_factory=dict)
    sound: Path | None = None
    # one transparent PNG per text overlay, words and colour emoji (apps.studio.textimage)
    text_images: list[Path] = field(default_factory=list)
    # the burned-in captions' ffconcat list of pictures (apps.studio.burn)
    captions_file: Path | None = None


@dataclass(frozen=True)
class Canvas:
    width: int
    height: int
    preview: bool = False


def canvas_for(first_width: int, first_height: int, *, preview: bool) -> Canvas:
    """The output frame: the first clip's orientation, its short edge capped (even sizes)."""
    short = PREVIEW_SHORT_EDGE if preview else FINAL_SHORT_EDGE
    short = min(short, min(first_width, first_height)) if not preview else short
    short -= short % 2
    if first_width >= first_height:
        long = round(short * first_width / first_height / 2) * 2
        return Canvas(long, short, preview)
    long = round(short * first_height / first_width / 2) * 2
    return Canvas(short, long, preview)


def escape(value: str) -> str:
    """A filter option value: backslash-escape what the filtergraph parser splits on."""
    for char in ("\\", ":", "'", ",", ";", "[", "]", "="):
        value = value.replace(char, "\\" + char)
    return value


def _s(ms: float) -> str:
    return f"{ms / 1000:.3f}"


def _colour(value: str) -> str:
    return "0x" + value.lstrip("#")


def _atempo(speed: float) -> str:
    """atempo takes 0.5 to 100 per instance: chain two below 0.5."""
    if speed >= 0.5:
        return f"atempo={speed:.4f}"
    return f"atempo=0.5,atempo={speed / 0.5:.4f}"


def _fit(w: int, h: int) -> str:
    return (f"scale={w}:{h}:force_original_aspect_ratio=decrease,"
            f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1")


def _duet_picture(index: int, own: str, layout: str, canvas: Canvas, total_s: float
                  ) -> list[str]:
    """The original (input `index`, cut to the edit's length) and the creator's picture
    (`own`, the whole canvas) each fitted into half of the canvas, the original left or on
    top; an original shorter than the edit holds its last frame. Output `[duet]`."""
    w, h = canvas.width, canvas.height
    cw, ch = (w // 2 // 2 * 2, h) if layout == "side_by_side" else (w, h // 2 // 2 * 2)
    stack = "hstack" if layout == "side_by_side" else "vstack"
    return [
        f"[{index}:v:0]setpts=PTS-STARTPTS,fps={FPS},{_fit(cw, ch)},format=yuv420p,"
        f"tpad=stop_mode=clone:stop_duration={total_s:.3f},trim=0:{total_s:.4f},"
        f"settb=1/{FPS}[dorig]",
        f"[{own}]{_fit(cw, ch)}[downs]",
        f"[dorig][downs]{stack}=inputs=2,{_fit(w, h)},format=yuv420p[duet]",
    ]


def _duet_sound(index: int, own: str, total_s: float) -> list[str]:
    """A duet plays the original's sound (input `index`) under the creator's own audio
    (already at `original_volume`, with the voice effect). Output `[duetmix]`."""
    return [
        f"[{index}:a:0]asetpts=PTS-STARTPTS,aresample={SAMPLE_RATE},"
        f"aformat=sample_fmts=fltp:channel_layouts=stereo,apad,atrim=0:{total_s:.4f}[dsnd]",
        f"[{own}][dsnd]amix=inputs=2:duration=first:normalize=0[duetmix]",
    ]


def build_command(doc: Document, inputs: Inputs, canvas: Canvas, out: Path) -> list[str]:
    """The ffmpeg arguments (after the binary) that render `doc` into `out` (MP4)."""
    w, h = canvas.width, canvas.height
    total_s = doc.duration_ms / 1000
    args: list[str] = []
    chains: list[str] = []
    n = 0  # next input index

    # --- clips -------------------------------------------------------------------------
    clip_labels: list[tuple[str, str, float]] = []
    timeline = doc.timeline()
    for i, clip in enumerate(timeline):
        src = inputs.sources[clip.asset_id]
        args += ["-ss", _s(clip.in_ms), "-t", _s(clip.out_ms - clip.in_ms),
                 "-i", str(src.path)]
        out_s = clip.output_ms / 1000
        chains.append(
            f"[{n}:v:0]setpts=(PTS-STARTPTS)/{clip.speed:.4f},fps={FPS},"
            f"scale={w}:{h}:force_original_aspect_ratio=decrease,"
            f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p,"
            f"settb=1/{FPS}[v{i}]")
        if src.has_audio:
            if clip.speed == 1.0:
                speed = ""
            elif clip.keep_pitch:
                speed = _atempo(clip.speed) + ","
            else:  # played faster/slower like tape: the pitch moves with the speed
                speed = (f"asetrate={SAMPLE_RATE}*{clip.speed:.4f},"
                         f"aresample={SAMPLE_RATE},")
            chains.append(
                f"[{n}:a:0]asetpts=PTS-STARTPTS,aresample={SAMPLE_RATE},"
                f"aformat=sample_fmts=fltp:channel_layouts=stereo,{speed}"
                f"apad,atrim=0:{out_s:.4f}[a{i}]")
        else:
            chains.append(f"anullsrc=r={SAMPLE_RATE}:cl=stereo,atrim=0:{out_s:.4f},"
                          f"aformat=sample_fmts=fltp[a{i}]")
        clip_labels.append((f"v{i}", f"a{i}", out_s))
        n += 1

    # --- timeline ----------------------------------------------------------------------
    v, a, length = clip_labels[0]
    for i, clip in enumerate(timeline[1:], start=1):
        nv, na, nlen = clip_labels[i]
        kind = TRANSITIONS[clip.transition]
        if kind is None:
            chains.append(f"[{v}][{a}][{nv}][{na}]concat=n=2:v=1:a=1[cv{i}][ca{i}]")
            chains.append(f"[cv{i}]settb=1/{FPS}[tv{i}]")
            chains.append(f"[ca{i}]anull[ta{i}]")
            length += nlen
        else:
            d = clip.transition_ms / 1000
            chains.append(f"[{v}][{nv}]xfade=transition={kind}:duration={d:.3f}:"
                          f"offset={length - d:.4f}[tv{i}]")
            chains.append(f"[{a}][{na}]acrossfade=d={d:.3f}:c1=tri:c2=tri[ta{i}]")
            length += nlen - d
        v, a = f"tv{i}", f"ta{i}"

    # --- picture ---------------------------------------------------------------------
    key = doc.chroma_key
    if key is not None:
        if key.background_asset_id is not None:
            bg = inputs.sources[key.background_asset_id]
            args += ["-stream_loop", "-1", "-t", f"{total_s:.3f}", "-i", str(bg.path)]
            chains.append(
                f"[{n}:v:0]fps={FPS},scale={w}:{h}:force_original_aspect_ratio=increase,"
                f"crop={w}:{h},setsar=1,format=yuv420p[bg]")
            n += 1
        else:
            chains.append(f"color=c={_colour(key.background_colour or '#000000')}:"
                          f"s={w}x{h}:r={FPS}:d={total_s:.3f},format=yuv420p[bg]")
        chains.append(f"[{v}]chromakey={_colour(key.colour)}:{key.similarity:.3f}:"
                      f"{key.blend:.3f}[keyed]")
        chains.append("[bg][keyed]overlay=shortest=1:format=yuv420[ck]")
        v = "ck"
    look: list[str] = []
    if doc.preset != "none":
        look.append(f"lut3d=file={escape(str(luts.lut_path(doc.preset)))}")
    if (doc.brightness, doc.contrast, doc.saturation) != (0.0, 1.0, 1.0):
        look.append(f"eq=brightness={doc.brightness:.3f}:contrast={doc.contrast:.3f}:"
                    f"saturation={doc.saturation:.3f}")
    if look:
        chains.append(f"[{v}]{','.join(look)}[look]")
        v = "look"
    duet, duet_input = doc.source is not None and doc.source.kind == "duet", -1
    if duet:
        assert doc.source is not None
        args += ["-t", f"{total_s:.3f}", "-i", str(inputs.sources[BORROWED].path)]
        chains += _duet_picture(n, v, doc.source.layout, canvas, total_s)
        v, duet_input = "duet", n
        n += 1
    for k, placed in enumerate(doc.stickers):
        sticker = inputs.stickers[placed.sticker_id]
        # an animated WebP plays its own loop (the demuxer's ignore_loop off; stream_loop
        # makes this demuxer spin); a PNG is one frame repeated
        loop = ["-ignore_loop", "0"] if sticker.animated else ["-loop", "1",
                                                               "-framerate", str(FPS)]
        args += [*loop, "-t", f"{total_s:.3f}", "-i", str(sticker.path)]
        sw = max(2, int(w * placed.scale) // 2 * 2)
        chains.append(f"[{n}:v:0]fps={FPS},scale={sw}:-2,format=rgba[st{k}]")
        start, end = placed.start_ms / 1000, placed.end_ms / 1000
        chains.append(
            f"[{v}][st{k}]overlay=x={w * placed.x:.1f}-overlay_w/2:"
            f"y={h * placed.y:.1f}-overlay_h/2:eof_action=pass:"
            f"enable='between(t,{start:.3f},{end:.3f})'[sv{k}]")
        v = f"sv{k}"
        n += 1
    for t, text in enumerate(doc.texts):
        # drawn by Pillow (drawtext has one font and no colour glyphs): a still image,
        # centred on its place, shown in its time
        args += ["-loop", "1", "-framerate", str(FPS), "-t", f"{total_s:.3f}",
                 "-i", str(inputs.text_images[t])]
        chains.append(f"[{n}:v:0]format=rgba[tx{t}]")
        chains.append(
            f"[{v}][tx{t}]overlay=x={w * text.x:.1f}-overlay_w/2:"
            f"y={h * text.y:.1f}-overlay_h/2:eof_action=pass:"
            f"enable='between(t,{text.start_ms / 1000:.3f},{text.end_ms / 1000:.3f})'[txo{t}]")
        v = f"txo{t}"
        n += 1
    if doc.burned_captions is not None and inputs.captions_file is not None:
        # the captions' pictures in time (apps.studio.burn: one input, an ffconcat list of
        # PNGs with their durations), over everything else
        args += ["-f", "concat", "-safe", "0", "-i", str(inputs.captions_file)]
        chains.append(f"[{n}:v:0]fps={FPS},format=rgba,setpts=PTS-STARTPTS[caps]")
        chains.append(f"[{v}][caps]overlay=0:0:eof_action=pass[burned]")
        v = "burned"
        n += 1

    # --- sound ---------------------------------------------------------------------------
    voice = VOICE_FILTERS[doc.voice]
    original = [f"volume={doc.original_volume:.3f}"] + ([voice] if voice else [])
    chains.append(f"[{a}]{','.join(original)}[orig]")
    a = "orig"
    if duet and inputs.sources[BORROWED].has_audio:
        chains += _duet_sound(duet_input, a, total_s)
        a = "duetmix"
    if doc.sound is not None and inputs.sound is not None:
        args += ["-ss", _s(doc.sound.start_ms), "-i", str(inputs.sound)]
        chains.append(
            f"[{n}:a:0]aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:"
            f"channel_layouts=stereo,volume={doc.sound.volume:.3f},apad[snd]")
        chains.append(f"[{a}][snd]amix=inputs=2:duration=first:normalize=0[mix]")
        a = "mix"
        n += 1
    chains.append(f"[{a}]atrim=0:{total_s:.4f}[aout]")
    chains.append(f"[{v}]trim=0:{total_s:.4f}[vout]")

    if canvas.preview:
        codec = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30",
                 "-c:a", "aac", "-b:a", "64k"]
    else:
        # the ladder's input: high quality, encoded once; media's validation only copies
        # its streams into a fresh container before the ladder transcodes it
        codec = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                 "-c:a", "aac", "-b:a", "192k"]
    return [*args, "-filter_complex", ";".join(chains), "-map", "[vout]", "-map", "[aout]",
            *codec, "-pix_fmt", "yuv420p", "-r", str(FPS), "-movflags", "+faststart",
            str(out)]
