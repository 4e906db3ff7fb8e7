"""Speech out (text-to-speech, alarm sound) and, later, offline voice commands."""

__all__ = ["Speaker"]

from hub.voice.speech import Speaker  # noqa: E402
