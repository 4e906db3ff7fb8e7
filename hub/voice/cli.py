"""``hub voice``: run the voice process, list speech models, test a recording."""

import click

from hub.errors import ApiError, HubError

__all__ = ["voice", "commands"]


def _config(ctx):
    from hub.cli import get_config

    return get_config(ctx)


@click.group()
def voice():
    """Offline voice commands (English, 简体中文, 한국어); see docs/voice.md."""


@voice.command("run")
@click.option("--input", "input_path", metavar="FILE.wav|-",
              help="Listen to a 16 kHz mono WAV file (or raw PCM on stdin with -) "
                   "instead of the microphone.")
@click.option("--language", type=click.Choice(["en", "zh_CN", "ko"]),
              help="Override the hub's language setting.")
@click.option("--fast", is_flag=True, help="With --input: do not pace the file in real time.")
@click.pass_context
def run(ctx, input_path, language, fast):
    """Listen and send commands to the core (what the hub-voice service runs)."""
    from hub.voice.service import run_voice

    try:
        code = run_voice(_config(ctx), input_path=input_path, language=language,
                         realtime=not fast, echo=click.echo)
    except (HubError, ApiError) as exc:
        raise click.ClickException(str(exc)) from None
    ctx.exit(code)


@voice.command("models")
@click.pass_context
def models(ctx):
    """List the speech model of each language: installed, fallback, or what to install."""
    from hub.voice.service import check_models

    cfg = _config(ctx)
    missing = 0
    for info in check_models(cfg):
        where = f" ({info.path})" if info.path else ""
        engine = info.engine or "none"
        click.echo(f"{info.language:<6} {engine:<13} {info.official:<30} {info.note}{where}")
        missing += info.engine is None
    if missing:
        click.echo(f"Models go in {cfg.voice.models_dir}/<model name>/ "
                   "(the SD-card image installs them).")


@voice.command("test")
@click.argument("wav", type=click.Path(dir_okay=False))
@click.option("--language", type=click.Choice(["en", "zh_CN", "ko"]),
              help="Language of the recording (default: [hub] language).")
@click.pass_context
def test(ctx, wav, language):
    """Print what the hub hears in WAV and which command it maps to."""
    from hub.voice.service import test_file

    cfg = _config(ctx)
    try:
        test_file(cfg, wav, language or cfg.hub.language, echo=click.echo)
    except HubError as exc:
        raise click.ClickException(str(exc)) from None


commands = [voice]
