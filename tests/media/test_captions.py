"""Captions (issue 16): speech recognition behind `ASRBackend` on spoken clips with known
words, languages without a model refused in words, hostile WebVTT/SRT uploads refused in
the error shape, caption tracks listed in the HLS master playlist as a SUBTITLES group and
served only under the video's own grant (its visibility rule), and the caption editor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.content import services as content_services
from apps.content.models import Post
from apps.media import asr, asr_clips, services, storage, subtitles
from apps.media.models import CaptionTrack
from apps.media.transcode import run_ffmpeg
from tests.content.factories import MediaAssetFactory, PostFactory
from tests.factories import UserFactory

RENDITION = {"short_edge": 240, "width": 240, "height": 426, "bandwidth": 300000,
             "average_bandwidth": 250000, "codecs": "avc1.64001e,mp4a.40.2",
             "frame_rate": 30.0}
OUTPUTS = {"hls": "hls/master.m3u8", "renditions": [RENDITION]}
SENTENCE = "We took the train to the mountains and walked along the lake for three hours."


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert asr_clips.espeak_available(), "espeak-ng is needed (make media-tools)"
    return asr_clips.speak(SENTENCE, tmp_path_factory.mktemp("asr") / "travel.wav")


# --- the backends -----------------------------------------------------------------------


def test_whisper_transcribes_a_clip_with_known_words_within_the_wer_bound(spoken):
    words = asr.WhisperBackend().transcribe(spoken, "en")

    said = " ".join(w.text for w in words)
    assert asr.word_error_rate(SENTENCE, said) <= 0.2, said
    starts = [w.start_ms for w in words]
    assert starts == sorted(starts)
    assert all(0 <= w.start_ms <= w.end_ms <= 8000 for w in words)


def test_pocketsphinx_gives_timed_words_from_its_wheel_model(spoken):
    words = asr.PocketSphinxBackend().transcribe(spoken, "en")

    said = " ".join(w.text for w in words)
    # a much weaker model (docs/benchmarks.md "Captions"): some words, in order, timed
    assert asr.word_error_rate(SENTENCE, said) < 1.0, said
    assert {"the", "three", "hours"} & set(asr.normalise(said))
    assert all(w.start_ms < w.end_ms for w in words)


@pytest.mark.parametrize("backend", [asr.WhisperBackend, asr.PocketSphinxBackend])
def test_a_language_without_a_model_is_refused_in_words(spoken, backend):
    with pytest.raises(asr.LanguageNotSupportedError) as refused:
        backend().transcribe(spoken, "fr")

    assert "not available for the language 'fr'" in str(refused.value)
    assert "only for en" in str(refused.value)


def test_word_error_rate():
    assert asr.word_error_rate("the cat sat", "The cat, sat!") == 0
    assert asr.word_error_rate("the cat sat", "the dog sat down") == pytest.approx(2 / 3)


# --- parsing WebVTT and SRT -------------------------------------------------------------


def test_webvtt_and_srt_parse_to_plain_text_cues():
    vtt = ("\ufeffWEBVTT - title\r\n\r\nNOTE a comment\r\n\r\nintro\r\n"
           "00:00:01.000 --> 00:00:02.500 align:start\r\n<b>Hello</b> &amp; "
           "<script>alert(1)</script>welcome\r\n\r\n00:03.000 --> 00:04.000\r\nline two\r\n")
    srt = ("1\n00:00:01,000 --> 00:00:02,500\nHello\nthere\n\n"
           "2\n00:00:03,000 --> 00:00:04,000\nbye\n")

    assert subtitles.parse(vtt.encode()) == [
        {"start_ms": 1000, "end_ms": 2500, "text": "Hello & alert(1)welcome"},
        {"start_ms": 3000, "end_ms": 4000, "text": "line two"},
    ]
    assert subtitles.parse(srt.encode())[0] == {"start_ms": 1000, "end_ms": 2500,
                                                "text": "Hello\nthere"}


def test_written_webvtt_escapes_markup_so_no_cue_injects_tags_or_timings():
    cues: list[subtitles.Cue] = [{"start_ms": 0, "end_ms": 1000, "text": "a <c.x>b</c> & c"}]

    vtt = subtitles.to_vtt(cues)

    assert "a &lt;c.x&gt;b&lt;/c&gt; &amp; c" in vtt
    with pytest.raises(subtitles.SubtitleError, match="'-->'"):
        subtitles.validate_cues([{"start_ms": 0, "end_ms": 1000,
                                  "text": "x\n00:00:05.000 --> 00:00:09.000"}])


HOSTILE = {
    "binary": b"\x00\x01\x02\xff\xfe",
    "not utf-8": "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\ncaf\xe9\n".encode("latin-1"),
    "empty": b"",
    "header only": b"WEBVTT\n",
    "no timing": b"WEBVTT\n\njust text\n",
    "bad timing": b"WEBVTT\n\n00:00:01.000 --> soon\nhi\n",
    "minutes 99": b"WEBVTT\n\n00:99:01.000 --> 00:99:02.000\nhi\n",
    "end before start": b"WEBVTT\n\n00:00:05.000 --> 00:00:02.000\nhi\n",
    "past the video": b"WEBVTT\n\n00:00:01.000 --> 00:10:00.000\nhi\n",
    "huge hours": b"1\n99999999999:00:01,000 --> 99999999999:00:02,000\nhi\n",
    "no text": b"1\n00:00:01,000 --> 00:00:02,000\n\n",
    "srt without number": b"x\n00:00:01,000 --> 00:00:02,000\nhi\n",
    "long cue": b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n" + b"a" * 600 + b"\n",
    "too many cues": b"WEBVTT\n\n" + b"00:00:01.000 --> 00:00:02.000\nx\n\n" * 5001,
    "too large": b"WEBVTT\n\n" + b"NOTE " + b"x" * 600_000 + b"\n",
}


@pytest.mark.parametrize("data", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_subtitle_files_are_refused_with_a_reason(data):
    with pytest.raises(subtitles.SubtitleError) as refused:
        subtitles.parse(data, duration_ms=15_000)
    assert len(str(refused.value)) > 10


def test_words_are_grouped_into_readable_cues():
    words = [asr.Word(f"w{i}", i * 300, i * 300 + 250) for i in range(40)]
    words.append(asr.Word("later", 20_000, 20_400))

    cues = subtitles.cues_from_words(words)

    assert all(len(c["text"]) <= 2 * subtitles.LINE_CHARS for c in cues)
    assert all(c["end_ms"] - c["start_ms"] <= subtitles.CUE_MAX_MS for c in cues)
    assert cues[-1] == {"start_ms": 20_000, "end_ms": 20_400, "text": "later"}


# --- the API, the master playlist and visibility ----------------------------------------


@pytest.fixture
def post_with_media(db: Any) -> Iterator[Callable[..., Post]]:
    made: list[int] = []

    def make(**kwargs: Any) -> Post:
        author = kwargs.pop("author", None) or UserFactory()
        asset = MediaAssetFactory(owner=author, outputs=dict(OUTPUTS), duration_ms=15_000)
        base = storage.asset_dir(asset.pk)
        (base / "hls" / "240").mkdir(parents=True)
        (base / "hls" / "master.m3u8").write_text("#EXTM3U\n240/index.m3u8\n")
        made.append(asset.pk)
        return PostFactory(author=author, asset=asset, **kwargs)

    yield make
    for asset_id in made:
        storage.remove_asset_files(asset_id)


def _client(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _get(url: str) -> Any:
    response: Any = APIClient().get(urlparse(url).path)
    if hasattr(response, "streaming_content"):
        response.body_text = b"".join(response.streaming_content).decode()
    else:
        response.body_text = response.content.decode()
    return response


def _upload(client: APIClient, asset_id: int, data: bytes, language: str = "en") -> Any:
    return client.put(f"/api/v1/media/assets/{asset_id}/captions/{language}",
                      {"file": SimpleUploadedFile("subs.vtt", data, "text/vtt")},
                      format="multipart")


GOOD_VTT = b"WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHello everyone\n"


@pytest.mark.django_db
def test_an_uploaded_track_is_a_subtitles_group_in_the_master_and_serves(post_with_media):
    post = post_with_media()

    response = _upload(_client(post.author), post.asset_id, GOOD_VTT)

    assert response.status_code == 200, response.content
    assert response.json()["version"] == 1
    hls = _client(None).get(f"/api/v1/posts/{post.pk}").json()["media"]["playback"]["hls"]
    master = _get(hls)
    assert master.status_code == 200
    assert ('#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="en",NAME="en",'
            'DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,URI="subs/en-1.m3u8"') in master.body_text
    assert 'FRAME-RATE=30.000,SUBTITLES="subs"\n240/index.m3u8' in master.body_text
    media_playlist = _get(hls.replace("master.m3u8", "subs/en-1.m3u8"))
    assert media_playlist.status_code == 200
    assert "#EXTINF:15.000,\nen-1.vtt\n#EXT-X-ENDLIST" in media_playlist.body_text
    vtt = _get(hls.replace("master.m3u8", "subs/en-1.vtt"))
    assert vtt.status_code == 200
    assert vtt["Content-Type"] == "text/vtt; charset=utf-8"
    assert "00:00:01.000 --> 00:00:02.500\nHello everyone" in vtt.body_text


@pytest.mark.django_db
@pytest.mark.parametrize("hide", ["private", "removed"])
def test_captions_of_a_private_or_removed_post_are_not_readable_by_others(
        post_with_media, hide):
    post = post_with_media()
    author = post.author
    _upload(_client(author), post.asset_id, GOOD_VTT)
    public_hls = _client(None).get(f"/api/v1/posts/{post.pk}").json()["media"]["playback"]["hls"]
    public_vtt = public_hls.replace("master.m3u8", "subs/en-1.vtt")
    assert _get(public_vtt).status_code == 200

    if hide == "private":
        content_services.post_update(user=author, post_id=post.pk, visibility="private")
    else:
        content_services.post_remove(post_id=post.pk)

    # the public URL no longer serves (media's one rule: the post's public version) ...
    assert _get(public_vtt).status_code == 404
    assert _get(public_hls).status_code == 404
    # ... a stranger gets no new grant, and the owner's API stays owner-only
    stranger = UserFactory()
    assert _client(stranger).get(f"/api/v1/posts/{post.pk}").status_code == 404
    assert _client(stranger).get(
        f"/api/v1/media/assets/{post.asset_id}/captions/en").status_code == 404
    # the author still watches with captions, through a signed grant
    own = _client(author).get(f"/api/v1/posts/{post.pk}").json()["media"]["playback"]["hls"]
    assert 'TYPE=SUBTITLES' in _get(own).body_text
    assert _get(own.replace("master.m3u8", "subs/en-1.vtt")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["binary", "bad timing", "past the video", "too large"])
def test_a_bad_upload_is_a_400_in_the_error_shape(post_with_media, name):
    post = post_with_media()

    response = _upload(_client(post.author), post.asset_id, HOSTILE[name])

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_captions"
    assert error["message"]
    assert not CaptionTrack.objects.filter(asset_id=post.asset_id).exists()


@pytest.mark.django_db
def test_only_the_owner_manages_captions(post_with_media):
    post = post_with_media()
    stranger = _client(UserFactory())

    assert _upload(stranger, post.asset_id, GOOD_VTT).status_code == 404
    assert stranger.post(f"/api/v1/media/assets/{post.asset_id}/captions",
                         {"language": "en"}, format="json").status_code == 404
    assert _client(None).get(f"/api/v1/media/assets/{post.asset_id}/captions").status_code \
        in (401, 403)


@pytest.mark.django_db
def test_auto_captions_in_a_language_without_a_model_are_refused_in_words(post_with_media):
    post = post_with_media()

    response = _client(post.author).post(f"/api/v1/media/assets/{post.asset_id}/captions",
                                         {"language": "fr"}, format="json")

    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "not available for the language 'fr'" in message
    assert "Upload a WebVTT or SRT file instead" in message


@pytest.mark.django_db
def test_the_editor_fixes_words_and_timings_as_a_new_version(post_with_media):
    post = post_with_media()
    client = _client(post.author)
    _upload(client, post.asset_id, GOOD_VTT)
    url = f"/api/v1/media/assets/{post.asset_id}/captions/en"

    response = client.patch(url, {"cues": [
        {"start_ms": 900, "end_ms": 2000, "text": "Hello, everyone!"},
        {"start_ms": 2100, "end_ms": 3000, "text": "Welcome back"}]}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["version"], body["edited"]) == (2, True)
    base = storage.asset_dir(post.asset_id) / "hls"
    assert "Welcome back" in (base / "subs" / "en-2.vtt").read_text()
    assert 'URI="subs/en-2.m3u8"' in (base / "master.m3u8").read_text()
    bad = client.patch(url, {"cues": [{"start_ms": 3000, "end_ms": 1000, "text": "x"}]},
                       format="json")
    assert bad.status_code == 400
    assert "Cue 1" in bad.json()["error"]["message"]
    assert client.delete(url).status_code == 204
    assert "SUBTITLES" not in (base / "master.m3u8").read_text()


@pytest.mark.django_db
def test_auto_captions_run_on_the_extracted_audio_and_publish(post_with_media, spoken):
    post = post_with_media()
    asset = post.asset
    run_ffmpeg(["-i", str(spoken), "-c:a", "aac", str(storage.asset_dir(asset.pk) / "audio.m4a")])
    asset.outputs = {**asset.outputs, "audio": "audio.m4a"}
    asset.save(update_fields=["outputs"])

    response = _client(post.author).post(f"/api/v1/media/assets/{asset.pk}/captions",
                                         {"language": "en"}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "pending"
    track = CaptionTrack.objects.get(asset=asset, language="en")

    services.caption_track_run_auto(track_id=track.pk)  # the Celery task's body

    track.refresh_from_db()
    assert track.state == CaptionTrack.State.READY
    said = " ".join(c["text"] for c in track.cues)
    assert asr.word_error_rate(SENTENCE, said) <= 0.2, said
    assert 'URI="subs/en-1.m3u8"' in (
        storage.asset_dir(asset.pk) / "hls" / "master.m3u8").read_text()


@pytest.mark.django_db
def test_a_rendition_finishing_after_the_upload_keeps_the_subtitles_group(post_with_media):
    from django.db import transaction

    from apps.media.models import ProcessingStep
    from apps.media.services import recipe

    post = post_with_media()
    asset = post.asset
    asset.outputs = {}  # still processing: no rendition listed yet
    asset.save(update_fields=["outputs"])
    assert _upload(_client(post.author), asset.pk, GOOD_VTT).status_code == 200
    ProcessingStep.objects.create(asset=asset, name="rendition-240", state="done",
                                  output=RENDITION)

    with transaction.atomic():
        recipe._after_step(asset, "rendition-240", RENDITION)

    master = (storage.asset_dir(asset.pk) / "hls" / "master.m3u8").read_text()
    assert 'TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="en"' in master
    assert 'SUBTITLES="subs"\n240/index.m3u8' in master
