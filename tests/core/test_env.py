"""Settings from the environment: a container secret file (`NAME_FILE`) wins over `NAME` for
strings and lists alike (docker/compose.yaml hands the encryption key lists over as files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from swipeme_site.env import ConfigError, env_list, env_str


def test_a_list_reads_its_file_before_its_variable(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    keys = tmp_path / "kyc_file_keys"
    keys.write_text("new-key, old-key\n")
    monkeypatch.setenv("SWIPEME_TEST_KEYS", "from-the-variable")
    assert env_list("SWIPEME_TEST_KEYS", []) == ["from-the-variable"]
    monkeypatch.setenv("SWIPEME_TEST_KEYS_FILE", str(keys))
    assert env_list("SWIPEME_TEST_KEYS", []) == ["new-key", "old-key"]


def test_unset_gives_the_default_and_a_required_string_says_its_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWIPEME_TEST_KEYS", raising=False)
    monkeypatch.delenv("SWIPEME_TEST_KEYS_FILE", raising=False)
    assert env_list("SWIPEME_TEST_KEYS", ["default"]) == ["default"]
    monkeypatch.setenv("SWIPEME_TEST_KEYS", " , ")
    assert env_list("SWIPEME_TEST_KEYS", ["default"]) == []
    with pytest.raises(ConfigError, match="SWIPEME_TEST_MISSING must be set"):
        env_str("SWIPEME_TEST_MISSING")


def test_compose_hands_both_key_lists_to_the_app_as_secret_files() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    compose = yaml.safe_load((root / "docker" / "compose.yaml").read_text())
    app_env, app = compose["x-app-env"], compose["x-app"]
    secrets_script = (root / "docker" / "make-secrets.sh").read_text()
    for setting, name in (("SWIPEME_TAX_FORM_KEYS", "tax_form_keys"),
                          ("SWIPEME_KYC_FILE_KEYS", "kyc_file_keys")):
        assert app_env[f"{setting}_FILE"] == f"/run/secrets/{name}"
        assert name in app["secrets"]
        assert compose["secrets"][name]["file"] == f"./secrets/{name}"
        assert f"new {name} " in secrets_script
