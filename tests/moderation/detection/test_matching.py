"""Hash matching for real: PDQ hashes of the frames the pipeline samples, imported with the
management command, survive re-encoding + resizing + a 5% crop and do not match another
clip; Chromaprint fingerprints find re-encoded, quieter, MP3 copies of a catalogue song
and of a rights holder's reference, and nothing for a different melody."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.files import File
from django.core.management import CommandError, call_command

from apps.content.models import Sound
from apps.moderation.detection import audio, pdq, services
from apps.moderation.detection.models import AssetCheck, HashEntry, HashList, RightsClaim
from apps.moderation.policies import Policy
from tests.content.factories import LibrarySoundFactory
from tests.factories import UserFactory
from tests.moderation.detection.conftest import arrange_upload

pytestmark = [pytest.mark.django_db(transaction=False),
              pytest.mark.usefixtures("moderation_gate_live")]


def _scanned(clip: Path) -> AssetCheck:
    asset = arrange_upload(UserFactory(), clip)
    services.asset_scan(asset_id=asset.pk)
    return AssetCheck.objects.get(asset_id=asset.pk)


def _import(tmp_path: Path, hexes: list[str], *, name: str = "known-bad",
            policy: str = Policy.VIOLENCE_GRAPHIC, tsv: bool = False) -> str:
    sep = "\t" if tsv else ","
    lines = [f"pdq{sep}note", *(f"{h}{sep}frame {i}" for i, h in enumerate(hexes)),
             f"not-a-hash{sep}junk"]
    path = tmp_path / ("hashes.tsv" if tsv else "hashes.csv")
    path.write_text("\n".join(lines) + "\n")
    out, err = StringIO(), StringIO()
    call_command("moderation_import_hashes", str(path), "--list", name, "--policy", policy,
                 stdout=out, stderr=err)
    assert "line " in err.getvalue()  # the junk line is reported, not imported
    return out.getvalue()


def test_pdq_matches_a_reencoded_resized_cropped_copy_and_not_another_clip(media, tmp_path):
    original = _scanned(media["original"])
    assert original.features["frame_count"] >= 4
    listed = [frame["variants"][0] for frame in original.features["pdq"]]
    assert "added" in _import(tmp_path, listed)
    assert HashEntry.objects.filter(hash_list__name="known-bad").count() == len(set(listed))

    altered = _scanned(media["altered"])
    found = [m for m in altered.matches if m["source"] == "pdq"]
    assert len(found) == 1
    assert found[0]["detail"]["list"] == "known-bad"
    assert found[0]["detail"]["distance"] <= HashList.objects.get().max_distance
    assert found[0]["policy"] == Policy.VIOLENCE_GRAPHIC
    # the copy's frames as they are (no crop compensation) are further away than the best
    # variant: the crop tolerance is what found it
    plain = pdq.as_array([f["variants"][0] for f in altered.features["pdq"]])
    assert int(pdq.distances(plain, pdq.as_array(listed)).min()) \
        >= found[0]["detail"]["distance"]

    other = _scanned(media["other"])
    assert [m for m in other.matches if m["source"] == "pdq"] == []
    nearest = pdq.distances(pdq.as_array([v for f in other.features["pdq"]
                                          for v in f["variants"]]), pdq.as_array(listed))
    assert int(nearest.min()) > 31


def test_the_import_command_takes_tsv_refuses_bad_input_and_is_idempotent(media, tmp_path):
    hexes = ["f" * 64, "0" * 63 + "1"]
    assert "2 added" in _import(tmp_path, hexes, tsv=True, name="tsv-list")
    assert "0 added" in _import(tmp_path, hexes, tsv=True, name="tsv-list")
    with pytest.raises(CommandError):
        call_command("moderation_import_hashes", str(tmp_path / "missing.csv"), "--list", "x",
                     "--policy", Policy.SPAM_SCAM)
    with pytest.raises(CommandError):
        _import(tmp_path, hexes, name="bad name with spaces")
    with pytest.raises(CommandError):
        call_command("moderation_import_hashes", str(tmp_path / "hashes.tsv"), "--list",
                     "ok", "--policy", "not-a-policy")


def test_audio_of_a_catalogue_song_is_found_after_reencoding_and_a_volume_change(media):
    song = LibrarySoundFactory(title="Licensed Song", rights_holder="Label Records")
    with media["song"].open("rb") as handle:
        song.audio_file.save("licensed.m4a", File(handle))
    LibrarySoundFactory(title="Another Song")  # no audio file: never fingerprinted

    # original.mp4 carries the song's melody; altered.mp4 has it at 60% volume as MP3
    altered = _scanned(media["altered"])
    found = [m for m in altered.matches if m["source"] == "audio_catalogue"]
    assert len(found) == 1
    assert found[0]["detail"]["sound_id"] == str(song.pk)
    assert found[0]["detail"]["ber"] <= services.detection_settings().audio_max_ber
    assert found[0]["policy"] == Policy.COPYRIGHT

    other = _scanned(media["other"])
    assert [m for m in other.matches if m["source"].startswith("audio")] == []
    # unrelated audio sits far from the threshold, not just over it
    best = audio.best_alignment(bytes(other.audio_fingerprint),
                                services.sound_fingerprint(Sound.objects.get(pk=song.pk)),
                                min_overlap_s=2.0)
    assert best is not None
    assert best.ber > 0.3


def test_a_rights_holders_reference_file_is_matched_and_its_outcome_applies(media):
    claim = RightsClaim(claimant="Indie Publisher", policy=Policy.COPYRIGHT, outcome="block")
    with media["song"].open("rb") as handle:
        claim.reference.save("reference.m4a", File(handle), save=False)
    claim.save()
    services.claim_fingerprint_refresh(claim_id=claim.pk)
    RightsClaim.objects.create(claimant="Someone Else", reference="moderation/claims/x.m4a",
                               fingerprint=audio.fingerprint(media["other_song"]))

    altered = _scanned(media["altered"])
    claims = [m for m in altered.matches if m["source"] == "audio_claim"]
    assert [m["detail"]["claimant"] for m in claims] == ["Indie Publisher"]
    assert altered.outcome == "block"
    assert altered.policy == Policy.COPYRIGHT
