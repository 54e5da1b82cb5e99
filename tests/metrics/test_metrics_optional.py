"""Optional pyiqa metrics: one clear line each, and never a download (checked with a fake installed pyiqa)."""

from __future__ import annotations

import json
import socket
import sys

import pytest

from wildvsr.metrics import optional
from wildvsr.metrics.optional import INSTALL_HINT, PYIQA_METRICS, availability


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("a metric availability check tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def fake_pyiqa(tmp_path, monkeypatch):
    """A stand-in ``pyiqa`` package on sys.path that fails loudly if anything imports it."""
    pkg = tmp_path / "site" / "pyiqa"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('the availability check must not import pyiqa')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return tmp_path / "hub"


@pytest.mark.usefixtures("no_network")
def test_not_installed_line():
    if optional.pyiqa_installed():
        pytest.skip("pyiqa is installed here")
    for name, meta in PYIQA_METRICS.items():
        ok, reason = availability(name)
        assert not ok and "\n" not in reason
        assert reason == (INSTALL_HINT if meta.pyiqa_name else meta.note)


@pytest.mark.usefixtures("no_network")
def test_installed_but_weights_missing_names_the_file(fake_pyiqa):
    hub = fake_pyiqa
    ok, reason = availability("musiq", hub_dir=hub)
    assert not ok and str(hub / "pyiqa" / "musiq_koniq_ckpt-e95806b9.pth") in reason and "\n" not in reason
    (hub / "pyiqa").mkdir(parents=True)
    (hub / "pyiqa" / "NRQM_model.mat").write_bytes(b"x")
    ok, reason = availability("pi", hub_dir=hub)  # PI needs NRQM and NIQE files: the missing one is named
    assert not ok and "niqe_modelparameters.mat" in reason and "NRQM" not in reason
    assert availability("nrqm", hub_dir=hub) == (True, "available")
    assert "pyiqa" not in sys.modules


def test_cli_lists_every_metric_with_availability(capsys):
    from wildvsr.cli import main

    with pytest.raises(SystemExit) as done:
        main(["metrics", "--json"])
    assert done.value.code == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"niqe", "brisque", "psnr", "ssim", "warping_error", "nrqm", "pi", "clipiqa", "musiq", "dover"} <= set(rows)
    assert rows["niqe"]["available"] and rows["niqe"]["lower_better"]
    with pytest.raises(SystemExit):
        main(["metrics"])
    text = capsys.readouterr().out
    for name, row in rows.items():
        line = next(ln for ln in text.splitlines() if ln.startswith(name + " "))
        assert ("available" if row["available"] else row["availability"]) in line
