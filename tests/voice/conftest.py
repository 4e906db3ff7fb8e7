"""Fixtures for the voice tests: the synthetic corpus directory, shared per session."""

import shutil

import pytest


def _need(tool):
    if not shutil.which(tool):
        pytest.skip(f"{tool} is not installed (scripts/install-system-deps.sh installs it)")


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory):
    """Where the corpus WAVs are made (once per test session)."""
    _need("espeak-ng")
    _need("sox")
    return tmp_path_factory.mktemp("voice-corpus")
