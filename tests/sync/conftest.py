"""Fixtures for the sync tests: a reference receiver on loopback, an enrolled hub, a worker.

Everything talks real HTTP on 127.0.0.1 (port 0, so tests can run side by side);
every server and worker is stopped by its fixture. Helpers live in ``sync_helpers``.
"""

import pytest

from hub.store import Store
from hub.sync.enroll import enroll
from hub.sync.receiver import Receiver
from hub.sync.worker import SyncWorker

from .sync_helpers import make_config


@pytest.fixture
def receiver(tmp_path):
    """A reference receiver on 127.0.0.1 with its own database."""
    rx = Receiver(tmp_path / "platform.db", seed=7).start()
    yield rx
    rx.close()


@pytest.fixture
def config(tmp_path, receiver):
    """A hub configuration enrolled with ``receiver``."""
    cfg = make_config(tmp_path, receiver.url)
    enroll(cfg, receiver.url, receiver.create_code(), serial="TEST-SERIAL-1")
    return cfg


@pytest.fixture
def store(config):
    """The hub's database (the test's own connection, as the core would have)."""
    st = Store(config.db_path, reserve_bytes=1024 * 1024)
    yield st
    st.close()


@pytest.fixture
def workers():
    """Start workers with ``workers(cfg, **kw)``; all are stopped at the end."""
    started = []

    def start(cfg, **kw):
        delivered = []
        kw.setdefault("on_delivered", delivered.extend)
        w = SyncWorker(cfg, **kw)
        w.delivered = delivered
        w.start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()
