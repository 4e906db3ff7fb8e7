"""Run the real hub core with a speaker whose engine takes as long as real speech.

CI machines have no sound card, so pyttsx3's ``runAndWait`` returns in milliseconds
there; on a hub it blocks while ``aplay`` plays each phrase. This engine blocks the
same way (about 0.4 s a word at 140 words a minute), so a speech flood backs up as it
does on a real hub. Everything else is the production core: ``hub.core.run_core``'s
own Core, its extensions (simulated GPIO) and its sync worker.

Usage: ``python -m tests.faults.paced_core CONFIG``
"""

import asyncio
import logging
import sys
import threading

from hub.config import load_config
from hub.core import Core, load_extensions
from hub.voice.speech import Speaker


class PacedSpeaker(Speaker):
    """The real Speaker (queues, lanes, worker thread); only the sound card is slow."""

    def _pyttsx3_say(self, text):
        self._cut = threading.Event()
        self._cut.wait(0.05 + 0.4 * len(text.split()) * 140 / max(self.rate, 80))

    def _interrupt_current(self):  # what stopping aplay does on a hub
        cut = getattr(self, "_cut", None)
        if cut is not None:
            cut.set()


def main() -> int:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config(sys.argv[1])
    speaker = PacedSpeaker(config.hub.language, engine="pyttsx3", rate=config.audio.rate)
    core = Core(config, speaker=speaker)
    core.extensions = load_extensions(config)
    asyncio.run(core.run())
    return core.exit_code


if __name__ == "__main__":
    sys.exit(main())
