"""The ``hotline`` command.

``hotline up``      migrate, load the demo center if empty, serve web + worker
``hotline serve``   the web server (waitress, multi-threaded WSGI)
``hotline worker``  the background sweep (run as many as you like)
``hotline demo``    build the demo county center
Anything else is passed to Django's management commands
(``hotline migrate``, ``hotline createsuperuser``, ``hotline shell`` …).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
    argv = list(sys.argv if argv is None else argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["hotline", *argv[1:]])


if __name__ == "__main__":
    main()
