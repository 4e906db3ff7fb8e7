"""`hub voice models` and `hub voice test FILE.wav` through the real CLI."""

from click.testing import CliRunner

from hub.cli import cli
from tests.conftest import write_config
from tests.voice import corpus


def _run(tmp_path, *args):
    cfg = write_config(tmp_path, voice={"models_dir": str(tmp_path / "models")})
    return CliRunner().invoke(cli, ["--config", str(cfg), "voice", *args])


def test_models_lists_each_language_with_the_model_to_install(tmp_path):
    result = _run(tmp_path, "models")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line[:2] != "Mo"}
    assert "pocketsphinx" in lines["en"]
    assert "vosk-model-small-ko-0.22" in lines["ko"] and "vosk " in lines["ko"]
    assert "vosk-model-small-cn-0.22" in lines["zh_CN"]
    assert "missing" in lines["zh_CN"] and str(tmp_path / "models") in result.output


def test_test_prints_what_was_heard_and_the_command(tmp_path, corpus_dir):
    wav = corpus.synth("read my messages", "en-us", 160, tmp_path / "t.wav")
    result = _run(tmp_path, "test", str(wav), "--language", "en")
    assert result.exit_code == 0, result.output
    assert "heard: read my messages" in result.output
    assert "→ messages" in result.output


def test_test_rejects_ordinary_speech(tmp_path, corpus_dir):
    wav = corpus.synth("can you help me with the crossword later", "en-us", 140,
                       tmp_path / "t.wav")
    result = _run(tmp_path, "test", str(wav), "--language", "en")
    assert result.exit_code == 0, result.output
    assert "not a command" in result.output
    assert "→ sos" not in result.output


def test_test_names_a_wrong_format_in_one_line(tmp_path, corpus_dir):
    raw = tmp_path / "raw.wav"
    import subprocess

    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(raw), "help"], check=True)
    result = _run(tmp_path, "test", str(raw), "--language", "en")
    assert result.exit_code != 0
    assert "16000 Hz mono 16-bit" in result.output and "sox" in result.output
    assert len(result.output.strip().splitlines()) == 1
