"""The edit document: the JSON a creator's editor sends to describe a video, validated by the
DRF serializers below (the schema, versioned by `version`), then checked against the
database (the clips are the user's own processed uploads, the stickers and the sound exist
and may be used). Everything is refused here, before any rendering starts.

Limits (docs/architecture.md "Creator studio"): at most `MAX_CLIPS` clips and
`MAX_TIMELINE_MS` of output; speed 0.3 to 3x; transitions 0.1 to 2 s and shorter than either
clip they join; `MAX_TEXTS` text overlays of at most `MAX_TEXT_CHARS` characters;
`MAX_STICKERS` stickers; `MAX_BURNED_CUES` burned-in captions of at most
`MAX_BURNED_CUE_CHARS` characters; times in milliseconds and inside the output's duration.

Versions: 1 is the plain edit; 2 adds `source`, a duet or stitch of another post
(apps.studio.derived: whose posts may be borrowed, and what happens when the original
leaves public view). Version 1 documents are still read; every stored one is written as 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rest_framework import serializers

from apps.core.errors import ApplicationError
from apps.core.ids import parse_id
from apps.studio import luts

if TYPE_CHECKING:
    from apps.accounts.models import User

SCHEMA_VERSION = 2
SCHEMA_VERSIONS = (1, 2)
STITCH_MAX_MS = 5000  # a stitch borrows at most the original's first 5 s
SOURCE_KINDS = ("duet", "stitch")
DUET_LAYOUTS = ("side_by_side", "top_bottom")
BORROWED = -1  # the key of the original's source among the render's inputs
MAX_CLIPS = 100
MAX_TIMELINE_MS = 10 * 60 * 1000
MIN_CLIP_MS = 100  # a clip's output length after its speed
MAX_TEXTS = 50
MAX_TEXT_CHARS = 300
MAX_STICKERS = 30
MIN_SPEED, MAX_SPEED = 0.3, 3.0
MIN_TRANSITION_MS, MAX_TRANSITION_MS = 100, 2000
MAX_BURNED_CUES = 2000  # captions burned into the picture (apps.studio.burn)
MAX_BURNED_CUE_CHARS = 500  # as a caption track's cue (media.subtitles.MAX_CUE_CHARS)
PREVIEW_MAX_MS = 60_000

TRANSITIONS = {"cut": None, "fade": "fade", "slide": "slideleft", "zoom": "zoomin"}
VOICE_EFFECTS = ("none", "pitch_up", "pitch_down", "robot", "echo")

# Fonts from Debian's fonts-dejavu-core (installed with the base system here).
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif-bold": "DejaVuSerif-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
}

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")


def font_path(name: str) -> Path:
    return FONT_DIR / FONTS[name]




class IdField(serializers.CharField):
    """A 64-bit id, sent as a string (a JSON number is accepted too)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "64-bit id, as a string.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        raw = super().to_internal_value(data)
        value = parse_id(raw) if len(raw) <= 20 else None
        if value is None:
            raise serializers.ValidationError("Not an id.")
        return value


class ColourField(serializers.CharField):
    """#rrggbb or #rrggbbaa (alpha), kept in lower case."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=9, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if not _COLOUR.match(value):
            raise serializers.ValidationError("A colour is #rrggbb or #rrggbbaa.")
        return value.lower()


class EditTransitionSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=list(TRANSITIONS))
    duration_ms = serializers.IntegerField(min_value=0, max_value=MAX_TRANSITION_MS, default=0)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == "cut":
            attrs["duration_ms"] = 0
        elif attrs["duration_ms"] < MIN_TRANSITION_MS:
            raise serializers.ValidationError(
                {"duration_ms": [f"A {attrs['kind']} lasts at least {MIN_TRANSITION_MS} ms."]})
        return attrs


class EditClipSerializer(serializers.Serializer[Any]):
    asset_id = IdField(help_text="One of your uploads.")
    in_ms = serializers.IntegerField(min_value=0)
    out_ms = serializers.IntegerField(min_value=1)
    speed = serializers.FloatField(min_value=MIN_SPEED, max_value=MAX_SPEED, default=1.0)
    keep_pitch = serializers.BooleanField(default=True)
    transition = EditTransitionSerializer(
        required=False, help_text="How this clip follows the previous one (default: cut).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["out_ms"] <= attrs["in_ms"]:
            raise serializers.ValidationError({"out_ms": ["Must be after in_ms."]})
        if (attrs["out_ms"] - attrs["in_ms"]) / attrs["speed"] < MIN_CLIP_MS:
            raise serializers.ValidationError(
                {"out_ms": [f"A clip lasts at least {MIN_CLIP_MS} ms after its speed."]})
        return attrs


class EditFilterSerializer(serializers.Serializer[Any]):
    preset = serializers.ChoiceField(choices=["none", *luts.PRESETS], default="none")
    brightness = serializers.FloatField(min_value=-0.5, max_value=0.5, default=0.0)
    contrast = serializers.FloatField(min_value=0.5, max_value=2.0, default=1.0)
    saturation = serializers.FloatField(min_value=0.0, max_value=2.0, default=1.0)


class _Timed(serializers.Serializer[Any]):
    start_ms = serializers.IntegerField(min_value=0)
    end_ms = serializers.IntegerField(min_value=1)
    x = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.5,
                               help_text="Centre, as a fraction of the width.")
    y = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.5,
                               help_text="Centre, as a fraction of the height.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end_ms"] <= attrs["start_ms"]:
            raise serializers.ValidationError({"end_ms": ["Must be after start_ms."]})
        return attrs


class EditTextSerializer(_Timed):
    text = serializers.CharField(max_length=MAX_TEXT_CHARS, trim_whitespace=False)
    font = serializers.ChoiceField(choices=list(FONTS), default="sans-bold")
    size = serializers.FloatField(min_value=0.02, max_value=0.2, default=0.06,
                                  help_text="Line height as a fraction of the video's height.")
    colour = ColourField(default="#ffffff")
    background = ColourField(required=False, help_text="A box behind the text.")

    def validate_text(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Text overlays need some text.")
        if any(ord(c) < 32 and c != "\n" for c in value):
            raise serializers.ValidationError("Control characters are not allowed.")
        return value


class StickerPlacementSerializer(_Timed):
    sticker_id = IdField(help_text="A sticker of the library.")
    scale = serializers.FloatField(min_value=0.05, max_value=1.0, default=0.25,
                                   help_text="Width as a fraction of the video's width.")


class EditSoundSerializer(serializers.Serializer[Any]):
    sound_id = IdField(help_text="A library sound, or a sound you may reuse.")
    volume = serializers.FloatField(min_value=0.0, max_value=2.0, default=1.0)
    start_ms = serializers.IntegerField(min_value=0, default=0,
                                        help_text="Where in the sound to start.")


class ChromaKeySerializer(serializers.Serializer[Any]):
    colour = ColourField(default="#00ff00", help_text="The screen's colour to remove.")
    similarity = serializers.FloatField(min_value=0.01, max_value=0.6, default=0.15)
    blend = serializers.FloatField(min_value=0.0, max_value=0.5, default=0.05)
    background_asset_id = IdField(required=False, help_text="One of your uploads, shown behind.")
    background_colour = ColourField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("background_asset_id" in attrs) == ("background_colour" in attrs):
            raise serializers.ValidationError(
                "Give exactly one of background_asset_id and background_colour.")
        return attrs


class EditSourceSerializer(serializers.Serializer[Any]):
    """A duet (the original beside or above yours, with its sound) or a stitch (a part of
    the original's first 5 s, then your clips)."""

    kind = serializers.ChoiceField(choices=list(SOURCE_KINDS))
    post_id = IdField(help_text="The post to duet or stitch.")
    layout = serializers.ChoiceField(choices=list(DUET_LAYOUTS), required=False,
                                     help_text="Duet: the original left or on top.")
    in_ms = serializers.IntegerField(min_value=0, max_value=STITCH_MAX_MS - MIN_CLIP_MS,
                                     required=False, help_text="Stitch: from (ms).")
    out_ms = serializers.IntegerField(min_value=1, max_value=STITCH_MAX_MS, required=False,
                                      help_text="Stitch: to (ms), at most 5000.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == "duet":
            extra = [name for name in ("in_ms", "out_ms") if name in attrs]
            if extra:
                raise serializers.ValidationError(
                    {extra[0]: ["A duet plays the whole original beside your clips; "
                                "only a stitch takes a part of it."]})
            attrs.setdefault("layout", "side_by_side")
            return attrs
        if "layout" in attrs:
            raise serializers.ValidationError({"layout": ["Only a duet has a layout."]})
        if "out_ms" not in attrs:
            raise serializers.ValidationError(
                {"out_ms": ["A stitch says where its part of the original ends "
                            f"(at most {STITCH_MAX_MS} ms)."]})
        attrs.setdefault("in_ms", 0)
        if attrs["out_ms"] - attrs["in_ms"] < MIN_CLIP_MS:
            raise serializers.ValidationError(
                {"out_ms": [f"Must be at least {MIN_CLIP_MS} ms after in_ms."]})
        return attrs


class BurnedCueSerializer(serializers.Serializer[Any]):
    start_ms = serializers.IntegerField(min_value=0)
    end_ms = serializers.IntegerField(min_value=1)
    text = serializers.CharField(max_length=MAX_BURNED_CUE_CHARS, trim_whitespace=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end_ms"] <= attrs["start_ms"]:
            raise serializers.ValidationError({"end_ms": ["Must be after start_ms."]})
        if "-->" in attrs["text"]:
            raise serializers.ValidationError({"text": ["Captions cannot contain '-->'."]})
        return attrs


class BurnedCaptionsSerializer(serializers.Serializer[Any]):
    """Captions drawn into the picture (apps.studio.burn): every viewer sees them, with
    no CC button. Times are the edited video's."""

    cues = BurnedCueSerializer(many=True, min_length=1,  # type: ignore[call-arg]
                               max_length=MAX_BURNED_CUES)
    font = serializers.ChoiceField(choices=list(FONTS), default="sans-bold")
    size = serializers.FloatField(min_value=0.03, max_value=0.1, default=0.05,
                                  help_text="Line height as a fraction of the video's height.")


class EditDocumentSerializer(serializers.Serializer[Any]):
    version = serializers.ChoiceField(choices=list(SCHEMA_VERSIONS),
                                      help_text="The document schema's version (2 adds "
                                                "`source`).")
    clips = EditClipSerializer(many=True, min_length=1, max_length=MAX_CLIPS)  # type: ignore[call-arg]
    filter = EditFilterSerializer(required=False)
    texts = EditTextSerializer(many=True, required=False, max_length=MAX_TEXTS)  # type: ignore[call-arg]
    stickers = StickerPlacementSerializer(many=True, required=False,  # type: ignore[call-arg]
                                          max_length=MAX_STICKERS)
    sound = EditSoundSerializer(required=False, allow_null=True)
    original_volume = serializers.FloatField(min_value=0.0, max_value=2.0, default=1.0)
    voice = serializers.ChoiceField(choices=list(VOICE_EFFECTS), default="none")
    chroma_key = ChromaKeySerializer(required=False, allow_null=True)
    cover_ms = serializers.IntegerField(min_value=0, default=0)
    source = EditSourceSerializer(required=False, allow_null=True,  # type: ignore[assignment]
                                  help_text="A duet or stitch of another post (version 2).")
    burned_captions = BurnedCaptionsSerializer(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        source = attrs.get("source")
        if source and attrs["version"] < 2:
            raise serializers.ValidationError(
                {"source": ["Duets and stitches need version 2 of the document."]})
        if source and source["kind"] == "duet" and attrs.get("sound"):
            raise serializers.ValidationError(
                {"sound": ["A duet plays the original's sound; it can't add another."]})
        return attrs

    def validate_clips(self, clips: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if clips and clips[0].get("transition", {}).get("kind", "cut") != "cut":
            raise serializers.ValidationError(
                {"0": {"transition": ["The first clip has nothing to transition from."]}})
        return clips


# --- the parsed document ---------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    asset_id: int
    in_ms: int
    out_ms: int
    speed: float
    keep_pitch: bool
    transition: str  # a key of TRANSITIONS
    transition_ms: int

    @property
    def output_ms(self) -> float:
        return (self.out_ms - self.in_ms) / self.speed


@dataclass(frozen=True)
class Text:
    text: str
    font: str
    size: float
    colour: str
    background: str | None
    start_ms: int
    end_ms: int
    x: float
    y: float


@dataclass(frozen=True)
class StickerPlacement:
    sticker_id: int
    scale: float
    start_ms: int
    end_ms: int
    x: float
    y: float


@dataclass(frozen=True)
class Sound:
    sound_id: int
    volume: float
    start_ms: int


@dataclass(frozen=True)
class ChromaKey:
    colour: str
    similarity: float
    blend: float
    background_asset_id: int | None
    background_colour: str | None


@dataclass(frozen=True)
class Borrow:
    """What a duet or stitch takes from another post."""

    kind: str  # "duet" or "stitch"
    post_id: int
    layout: str = "side_by_side"  # a duet's
    in_ms: int = 0  # a stitch's part of the original
    out_ms: int = 0

    @property
    def stitch_ms(self) -> int:
        return self.out_ms - self.in_ms if self.kind == "stitch" else 0


@dataclass(frozen=True)
class BurnedCue:
    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True)
class BurnedCaptions:
    cues: list[BurnedCue]
    font: str = "sans-bold"
    size: float = 0.05


@dataclass(frozen=True)
class Document:
    clips: list[Clip]
    preset: str = "none"
    brightness: float = 0.0
    contrast: float = 1.0
    saturation: float = 1.0
    texts: list[Text] = field(default_factory=list)
    stickers: list[StickerPlacement] = field(default_factory=list)
    sound: Sound | None = None
    original_volume: float = 1.0
    voice: str = "none"
    chroma_key: ChromaKey | None = None
    cover_ms: int = 0
    source: Borrow | None = None
    burned_captions: BurnedCaptions | None = None

    @property
    def duration_ms(self) -> int:
        total = sum(c.output_ms for c in self.clips) - sum(c.transition_ms for c in self.clips)
        return round(total) + (self.source.stitch_ms if self.source else 0)

    def timeline(self) -> list[Clip]:
        """The clips in the order the render plays them: a stitch's part of the original
        first (its source is the input `BORROWED`), cut to the creator's clips."""
        if self.source is None or self.source.kind != "stitch":
            return list(self.clips)
        borrowed = Clip(asset_id=BORROWED, in_ms=self.source.in_ms, out_ms=self.source.out_ms,
                        speed=1.0, keep_pitch=True, transition="cut", transition_ms=0)
        return [borrowed, *self.clips]

    def asset_ids(self) -> set[int]:
        ids = {c.asset_id for c in self.clips}
        if self.chroma_key and self.chroma_key.background_asset_id:
            ids.add(self.chroma_key.background_asset_id)
        return ids


def _parse(data: dict[str, Any]) -> Document:
    look = data.get("filter") or {}
    key = data.get("chroma_key")
    sound = data.get("sound")
    borrow = data.get("source")
    burned = data.get("burned_captions")
    return Document(
        clips=[Clip(asset_id=c["asset_id"], in_ms=c["in_ms"], out_ms=c["out_ms"],
                    speed=c["speed"], keep_pitch=c["keep_pitch"],
                    transition=c.get("transition", {}).get("kind", "cut"),
                    transition_ms=c.get("transition", {}).get("duration_ms", 0))
               for c in data["clips"]],
        preset=look.get("preset", "none"), brightness=look.get("brightness", 0.0),
        contrast=look.get("contrast", 1.0), saturation=look.get("saturation", 1.0),
        texts=[Text(text=t["text"], font=t["font"], size=t["size"], colour=t["colour"],
                    background=t.get("background"), start_ms=t["start_ms"],
                    end_ms=t["end_ms"], x=t["x"], y=t["y"]) for t in data.get("texts", [])],
        stickers=[StickerPlacement(sticker_id=s["sticker_id"], scale=s["scale"],
                                   start_ms=s["start_ms"], end_ms=s["end_ms"], x=s["x"], y=s["y"])
                  for s in data.get("stickers", [])],
        sound=Sound(**sound) if sound else None,
        original_volume=data["original_volume"], voice=data["voice"],
        chroma_key=ChromaKey(colour=key["colour"], similarity=key["similarity"],
                             blend=key["blend"],
                             background_asset_id=key.get("background_asset_id"),
                             background_colour=key.get("background_colour")) if key else None,
        cover_ms=data["cover_ms"],
        source=Borrow(kind=borrow["kind"], post_id=borrow["post_id"],
                      layout=borrow.get("layout", "side_by_side"),
                      in_ms=borrow.get("in_ms", 0), out_ms=borrow.get("out_ms", 0))
        if borrow else None,
        burned_captions=BurnedCaptions(
            cues=[BurnedCue(start_ms=c["start_ms"], end_ms=c["end_ms"], text=c["text"])
                  for c in burned["cues"]], font=burned["font"], size=burned["size"])
        if burned else None,
    )


class EditRefused(ApplicationError):  # noqa: N818 - the API's 400 for a document
    code = "invalid_edit"


def _refuse(fields: dict[str, list[str]]) -> EditRefused:
    path, messages = next(iter(fields.items()))
    return EditRefused(f"{path}: {messages[0]}", fields=fields)


def _check_timing(doc: Document) -> dict[str, list[str]]:
    """The rules that need the whole timeline: transitions fit their clips, the total
    length, timed overlays and the cover inside it."""
    fields: dict[str, list[str]] = {}
    for i, clip in enumerate(doc.clips[1:], start=1):
        if clip.transition_ms and clip.transition_ms >= min(clip.output_ms,
                                                            doc.clips[i - 1].output_ms):
            fields[f"clips.{i}.transition.duration_ms"] = [
                "A transition must be shorter than both clips it joins."]
    total = doc.duration_ms
    if total > MAX_TIMELINE_MS:
        fields["clips"] = [f"The edit lasts {total / 1000:.0f} s; at most "
                           f"{MAX_TIMELINE_MS // 60000} minutes."]
        return fields
    timed: list[tuple[str, int, int]] = [
        *(("texts", i, t.end_ms) for i, t in enumerate(doc.texts)),
        *(("stickers", i, s.end_ms) for i, s in enumerate(doc.stickers)),
        *(("burned_captions.cues", i, c.end_ms)
          for i, c in enumerate(doc.burned_captions.cues if doc.burned_captions else [])),
    ]
    for kind, i, end_ms in timed:
        if end_ms > total:
            fields[f"{kind}.{i}.end_ms"] = [f"Past the end of the edit ({total} ms)."]
    if doc.cover_ms > total:
        fields["cover_ms"] = [f"Past the end of the edit ({total} ms)."]
    return fields


def parse_structure(data: Any) -> Document:
    """The schema's checks only (no database): a 400 `invalid_edit` with dotted field paths."""
    serializer = EditDocumentSerializer(data=data)
    if not serializer.is_valid():
        from apps.core.errors import _flatten_fields

        fields = {path.removesuffix(".non_field_errors"): messages for path, messages
                  in _flatten_fields(serializer.errors).items()}
        raise _refuse(fields)
    doc = _parse(serializer.validated_data)
    fields = _check_timing(doc)
    if fields:
        raise _refuse(fields)
    return doc


def validate_document(data: Any, *, user: User) -> Document:
    """The whole check, as the API and the render task run it."""
    from apps.studio import selectors

    doc = parse_structure(data)
    fields = selectors.document_refusals(doc, user=user)
    if fields:
        raise _refuse(fields)
    return doc


def canonical(doc: Document) -> dict[str, Any]:
    """The document as stored: every default filled in, ids as strings."""
    return {
        "version": SCHEMA_VERSION,
        "clips": [{"asset_id": str(c.asset_id), "in_ms": c.in_ms, "out_ms": c.out_ms,
                   "speed": c.speed, "keep_pitch": c.keep_pitch,
                   "transition": {"kind": c.transition, "duration_ms": c.transition_ms}}
                  for c in doc.clips],
        "filter": {"preset": doc.preset, "brightness": doc.brightness,
                   "contrast": doc.contrast, "saturation": doc.saturation},
        "texts": [{"text": t.text, "font": t.font, "size": t.size, "colour": t.colour,
                   **({"background": t.background} if t.background else {}),
                   "start_ms": t.start_ms, "end_ms": t.end_ms, "x": t.x, "y": t.y}
                  for t in doc.texts],
        "stickers": [{"sticker_id": str(s.sticker_id), "scale": s.scale,
                      "start_ms": s.start_ms, "end_ms": s.end_ms, "x": s.x, "y": s.y}
                     for s in doc.stickers],
        "sound": {"sound_id": str(doc.sound.sound_id), "volume": doc.sound.volume,
                  "start_ms": doc.sound.start_ms} if doc.sound else None,
        "original_volume": doc.original_volume,
        "voice": doc.voice,
        "chroma_key": None if doc.chroma_key is None else {
            "colour": doc.chroma_key.colour, "similarity": doc.chroma_key.similarity,
            "blend": doc.chroma_key.blend,
            **({"background_asset_id": str(doc.chroma_key.background_asset_id)}
               if doc.chroma_key.background_asset_id else
               {"background_colour": doc.chroma_key.background_colour}),
        },
        "cover_ms": doc.cover_ms,
        "source": None if doc.source is None else {
            "kind": doc.source.kind, "post_id": str(doc.source.post_id),
            **({"layout": doc.source.layout} if doc.source.kind == "duet" else
               {"in_ms": doc.source.in_ms, "out_ms": doc.source.out_ms}),
        },
        "burned_captions": None if doc.burned_captions is None else {
            "cues": [{"start_ms": c.start_ms, "end_ms": c.end_ms, "text": c.text}
                     for c in doc.burned_captions.cues],
            "font": doc.burned_captions.font, "size": doc.burned_captions.size,
        },
    }


def without_source(doc: Document) -> Document:
    """The document with the borrowed part taken out (the original left public view): a
    duet becomes the creator's clips alone, full frame, with their own sound (at full
    volume if they had muted it under the original's); a stitch
    loses its first part, and every timed overlay and the cover move back by as much
    (what lay only over the borrowed part goes)."""
    if doc.source is None:
        return doc
    shift = doc.source.stitch_ms

    def moved(items: list[Any]) -> list[Any]:
        return [replace(item, start_ms=max(0, item.start_ms - shift),
                        end_ms=item.end_ms - shift)
                for item in items if item.end_ms - shift > MIN_CLIP_MS]

    burned = doc.burned_captions
    if burned is not None:
        cues = moved(burned.cues)
        burned = replace(burned, cues=cues) if cues else None
    # a duet's own sound, muted under the original's, comes back (else a silent video)
    volume = doc.original_volume or 1.0 if doc.source.kind == "duet" else doc.original_volume
    return replace(doc, source=None, texts=moved(doc.texts), stickers=moved(doc.stickers),
                   cover_ms=max(0, doc.cover_ms - shift), burned_captions=burned,
                   original_volume=volume)
