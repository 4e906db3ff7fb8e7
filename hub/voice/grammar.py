"""Phrase lists per language (``assets/voice/<lang>.toml``) and what a recogniser may hear.

This module owns the language data and the mapping from heard text to a command; it
does not record audio or run a recogniser (see :mod:`hub.voice.engines`).

A language file holds:

* ``[commands]``: command name → whole-utterance phrases (lower case, words separated
  by spaces the way the recogniser's vocabulary spells them);
* ``wake``: phrases that open the listening window for the non-emergency commands;
* ``min_confidence``: the rejection threshold tuned on the corpus for this language's
  recogniser (``benchmarks/bench_voice.py``), and ``sos_min_confidence``, a stricter
  one for the emergency phrases (a false SOS costs more than a missed "what time"), and
  ``answer_min_confidence`` (default ``min_confidence``) for "cancel" during a countdown
  and yes / no / I'm OK to an open question when heard without the wake phrase (a
  television must not end an alarm or answer the check-in);
* ``[replies]``: the short sentences the hub says back;
* optionally ``[fillers] words``: ordinary words added to a vosk grammar as a "garbage"
  vocabulary. Measured on the corpus they cost the Korean model most of its accuracy,
  so the shipped files have none; rejection rests on the rules below instead.

Only an utterance that is *exactly* one command phrase, optionally after a wake phrase,
is a command; anything else is rejected. A grammar-constrained recogniser always finds
*some* phrase, so the engines also measure how much of the speech the phrase explains
(:func:`hub.voice.engines.coverage`): "can you help me with the crossword" decoded as
"help" explains a fifth of the speech and is rejected. That is what keeps near misses
from raising an SOS.

A new language is a new file, not new code.
"""

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from hub.errors import HubError

__all__ = ["Language", "Match", "load_language", "languages", "COMMANDS", "EMERGENCY",
           "ASSETS_DIR"]

ASSETS_DIR = Path(__file__).resolve().parent.parent.parent / "assets" / "voice"

# Every language file must define these commands.
COMMANDS = ("sos", "cancel", "ok", "yes", "no", "call_family", "blood_pressure", "time",
            "messages", "louder", "quieter")
# Heard at any time, without a wake phrase: a fallen elder cannot reach a button.
EMERGENCY = ("sos",)
REPLIES = ("listening", "not_understood", "time", "no_reading", "blood_pressure",
           "no_messages", "message", "message_nosender", "family_contact", "family_failed",
           "louder", "quieter", "loudest", "quietest", "no_question", "nothing_to_cancel", "today", "on_day")


def normalise(text: str) -> str:
    """Lower case, single spaces, no punctuation but apostrophes (as recognisers spell)."""
    text = re.sub(r"[^\w' ]+", " ", text.lower())
    return " ".join(text.split())


@dataclass(frozen=True)
class Match:
    """What an utterance means.

    :ivar command: a name from :data:`COMMANDS`, or None (not a command: rejected).
    :ivar woke: the utterance started with (or was only) a wake phrase.
    :ivar text: the normalised text heard.
    """

    command: str | None
    woke: bool
    text: str


@dataclass(frozen=True)
class Language:
    """One language's phrases, replies and recogniser vocabulary."""

    code: str
    vosk_model: str
    espeak_voice: str
    wake: tuple[str, ...]
    commands: dict[str, tuple[str, ...]]
    replies: dict[str, str]
    fillers: tuple[str, ...]
    path: Path
    min_confidence: float = 0.8
    sos_min_confidence: float = 0.8
    answer_min_confidence: float = 0.8
    _lookup: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        for name, phrases in self.commands.items():
            for p in phrases:
                self._lookup.setdefault(p, name)

    @property
    def phrases(self) -> list[str]:
        """Every command and wake phrase (what the recogniser should be able to hear)."""
        out = [p for ps in self.commands.values() for p in ps]
        return out + [w for w in self.wake if w not in out]

    @property
    def words(self) -> set[str]:
        """Every word used in a command or wake phrase."""
        return {w for p in self.phrases for w in p.split()}

    def match(self, text: str) -> Match:
        """Map recognised text to a command: only a whole phrase counts."""
        text = normalise(text)
        for wake in sorted(self.wake, key=len, reverse=True):
            if text == wake:
                return Match(None, True, text)
            if text.startswith(wake + " "):
                return Match(self._lookup.get(text[len(wake) + 1:]), True, text)
        return Match(self._lookup.get(text), False, text)

    def vosk_grammar(self) -> list[str]:
        """Vosk's restricted grammar: the phrases, each filler word, and ``[unk]``."""
        fillers = [w for w in self.fillers if w not in self._lookup]
        return self.phrases + fillers + ["[unk]"]

    def jsgf(self) -> str:
        """A JSGF grammar for pocketsphinx: one command/wake phrase, or filler words."""
        def alts(items):
            return " | ".join(f"( {i} )" for i in items)

        cmds = self.commands
        rules = [f"<cmd_{n}> = {alts(ps)};" for n, ps in cmds.items()]
        wake = f"<wake> = {alts(self.wake)};" if self.wake else ""
        # The wake phrase is its own utterance: a path "wake + command" would let the
        # grammar stretch over whole ordinary sentences (measured: many false accepts).
        alternatives = ["<command>"]
        alternatives += ["<wake>"] if self.wake else []
        alternatives += ["<filler>+"] if self.fillers else []
        head = "<utt> = " + " | ".join(alternatives) + ";"
        return "\n".join([
            "#JSGF V1.0;", "grammar hub;", "public " + head,
            "<command> = " + " | ".join(f"<cmd_{n}>" for n in cmds) + ";",
            *rules, wake,
            ("<filler> = " + " | ".join(sorted(set(self.fillers))) + ";") if self.fillers
            else "", ""])

    def reply(self, key: str, **params) -> str:
        """A reply sentence, filled in."""
        return self.replies[key].format(**params)


def _words(value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split()
    return tuple(normalise(str(w)) for w in value if normalise(str(w)))


@functools.cache
def load_language(code: str, directory: Path | None = None) -> Language:
    """Load and check ``<directory>/<code>.toml``.

    :raises HubError: the file is missing or lacks a command or reply, in words.
    """
    path = Path(directory or ASSETS_DIR) / f"{code}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HubError(f"no voice phrases for language {code!r}: {path} is missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise HubError(f"{path} is not valid TOML: {exc}") from None
    commands = data.get("commands", {})
    missing = [c for c in COMMANDS if not commands.get(c)]
    if missing:
        raise HubError(f"{path}: [commands] lacks {', '.join(missing)}")
    replies = data.get("replies", {})
    missing = [r for r in REPLIES if r not in replies]
    if missing:
        raise HubError(f"{path}: [replies] lacks {', '.join(missing)}")
    return Language(
        code=code, vosk_model=data.get("vosk_model", ""),
        espeak_voice=data.get("espeak_voice", code),
        wake=tuple(normalise(w) for w in data.get("wake", [])),
        commands={n: tuple(normalise(p) for p in ps) for n, ps in commands.items()},
        replies=dict(replies), fillers=_words(data.get("fillers", {}).get("words", "")),
        path=path, min_confidence=float(data.get("min_confidence", 0.8)),
        sos_min_confidence=float(data.get("sos_min_confidence",
                                          data.get("min_confidence", 0.8))),
        answer_min_confidence=float(data.get("answer_min_confidence",
                                             data.get("min_confidence", 0.8))))


def languages(directory: Path | None = None) -> list[str]:
    """The language codes that have a phrase file."""
    return sorted(p.stem for p in Path(directory or ASSETS_DIR).glob("*.toml"))
