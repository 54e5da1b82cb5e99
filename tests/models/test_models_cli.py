"""``wildvsr models``: lists every model with its parameter count and weights availability."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from wildvsr.cli import app  # registers every command module, ``models`` included


def test_models_json_lists_counts_and_availability(tmp_path, monkeypatch):
    monkeypatch.setenv("WILDVSR_CACHE", str(tmp_path))
    result = CliRunner().invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    infos = {info["name"]: info for info in json.loads(result.output)}
    assert set(infos) == {"basicvsr", "mgldvsr", "rcvsr", "realbasicvsr", "rrdbnet", "spynet", "srvgg",
                          "unet_discriminator_sn"}
    assert infos["mgldvsr"]["num_params"] > 1_000_000_000  # counted on the meta device (no 4 GiB allocation)
    assert infos["basicvsr"]["num_params"] == 6_291_311
    assert infos["realbasicvsr"]["num_params"] == 6_294_834
    tags = {w["tag"]: w for w in infos["basicvsr"]["weights"]}
    assert tags["reds4"]["available"] and tags["reds4"]["default"] and tags["reds4"]["path"].endswith(".pth")
    official = {w["tag"]: w for w in infos["realbasicvsr"]["weights"]}["official"]
    assert not official["available"] and official["url"].startswith("https://")


def test_models_text(tmp_path, monkeypatch):
    monkeypatch.setenv("WILDVSR_CACHE", str(tmp_path))
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    assert "basicvsr  6,291,311 params" in result.output
    assert "offline: yes" in result.output and "offline: no" in result.output
    assert "not shipped yet" in result.output
