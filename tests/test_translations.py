"""Both languages, everywhere: the Simplified Chinese catalogue is complete and current."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "locale/zh_Hans/LC_MESSAGES/django.po"
HAN = re.compile(r"[\u4e00-\u9fff]")
# msgids whose Chinese is rightly the same text (names and formats, not words)
SAME_IN_CHINESE = {
    "CSV",
    "XLSX",
    "SKU",
    "RFM",
    "LTV",
    "API",
    "ID",
    "R",
    "F",
    "M",
    "VIP",
    "GMV",
    "%(device)s: %(detail)s.",
}  # the last: punctuation only


def _parse(po: str) -> list[dict]:
    out = []
    for block in po.split("\n\n"):
        lines = [line for line in block.strip().splitlines() if not line.startswith("#~")]
        if not any(line.startswith("msgid ") for line in lines):
            continue
        entry = {"flags": "", "msgid": "", "msgstr": []}
        key = None
        for line in lines:
            if line.startswith("#,"):
                entry["flags"] = line
            elif line.startswith("msgid "):
                key, entry["msgid"] = "msgid", _unquote(line[6:])
            elif line.startswith("msgid_plural "):
                key = "plural"
            elif line.startswith("msgstr"):
                key = "msgstr"
                entry["msgstr"].append(_unquote(line.split(" ", 1)[1]))
            elif line.startswith('"'):
                if key == "msgid":
                    entry["msgid"] += _unquote(line)
                elif key == "msgstr":
                    entry["msgstr"][-1] += _unquote(line)
        if entry["msgid"]:
            out.append(entry)
    return out


def _unquote(text: str) -> str:
    return text.strip()[1:-1].replace('\\"', '"').replace("\\n", "\n")


def test_every_string_has_a_chinese_translation_and_none_is_fuzzy():
    problems = []
    for entry in _parse(CATALOGUE.read_text()):
        if "fuzzy" in entry["flags"]:
            problems.append(f"fuzzy: {entry['msgid']!r}")
        elif entry["msgid"] not in SAME_IN_CHINESE and not any(HAN.search(s) for s in entry["msgstr"]):
            problems.append(f"untranslated: {entry['msgid']!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.skipif(not shutil.which("xgettext"), reason="needs gettext's xgettext")
def test_the_catalogue_holds_every_string_of_the_code(tmp_path, monkeypatch):
    # given a copy of the code and templates (makemessages writes into the `locale` folder
    # it finds, so it runs on the copy, never on the repository's catalogue)
    for folder in ("retail", "members", "devices", "shelves", "promotions", "guides", "templates", "locale"):
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("tests", "__pycache__")
        )
    monkeypatch.chdir(tmp_path)
    # when Django's makemessages collects the strings found there today
    call_command("makemessages", locale=["zh_Hans"], verbosity=0)
    found = {e["msgid"] for e in _parse((tmp_path / "locale/zh_Hans/LC_MESSAGES/django.po").read_text())}
    # then the committed catalogue already has every one of them (run makemessages, translate)
    known = {e["msgid"] for e in _parse(CATALOGUE.read_text())}
    assert len(found) > 500
    assert found - known == set()
