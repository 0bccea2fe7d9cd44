"""The long-running server's app: `gunicorn 'portal.wsgi:app'` (production) and `portal serve`
(waitress) both serve what `serving_app` returns.

Beyond `create_app`, a server process loads the search analysis (the jieba segmenter and the
pinyin tables) before the first request and then moves every object alive at that point into the
garbage collector's permanent generation (`gc.freeze`). Those objects live as long as the process
anyway; left in the collected generations, every full collection walks them all again, which
under load paused a worker for about 0.3 s every few hundred searches. Tests build many apps in
one process and use `create_app` alone, so nothing of theirs is frozen.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from . import create_app
from .search.analysis import warm_up

if TYPE_CHECKING:
    from flask import Flask


def serving_app() -> Flask:
    app = create_app()
    warm_up()
    gc.collect()
    gc.freeze()
    return app


def __getattr__(name: str) -> Flask:
    """`portal.wsgi:app`, built on first access, so that importing the module builds nothing."""
    if name == "app":
        globals()["app"] = built = serving_app()
        return built
    raise AttributeError(name)
