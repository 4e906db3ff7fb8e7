"""A real hub core (:class:`hub.core.Core`) with three test-only commands, for the kiosk's tests.

Some core behaviour is reached only through parts that are not in the tree yet or
need a platform (a check-in question comes from the care rules, an acknowledgement
from the platform's inbox). This script runs the real core and adds, through the
core's public ``register_command``:

* ``test.ask {kind, question_key, answers}`` — ask the elder a question (``Core.ask``);
* ``test.answers`` — the answers received so far;
* ``test.inbox {message}`` — apply an inbox message as the sync worker would
  (a family message, an SOS acknowledgement).

Usage: ``python tests/ui/hooked_core.py CONFIG [--extensions]``; with ``--extensions`` the
core also runs its parts from other packages (GPIO, rules, Bluetooth — simulated when
the config says ``simulate = true``), as ``hub core`` does.
"""

import asyncio
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hub.config import load_config  # noqa: E402
from hub.core import Core, load_extensions  # noqa: E402


def main(config_path: str, extensions: bool = False) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s")
    config = load_config(config_path)
    core = Core(config)
    if extensions:
        core.extensions = load_extensions(config)
    got: list = []

    async def ask_cmd(kind="inactivity", question_key="inactivity_question", answers=None):
        choices = tuple(answers or ("yes", "no"))

        async def run():
            got.append(await core.ask(kind, question_key, answers=choices))

        asyncio.get_running_loop().create_task(run())
        return {}

    async def answers_cmd():
        return list(got)

    async def inbox_cmd(message):
        await core.apply_inbox(message)  # the path the sync worker's inbox poll takes
        return {}

    core.register_command("test.ask", ask_cmd, "test only: ask the elder a question")
    core.register_command("test.answers", answers_cmd, "test only: answers so far")
    core.register_command("test.inbox", inbox_cmd, "test only: apply an inbox message")
    asyncio.run(core.run())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], "--extensions" in sys.argv[2:]))
