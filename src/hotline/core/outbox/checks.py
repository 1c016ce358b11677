"""``hotline check`` reports outbox and channel settings that are wrong.
Warnings, not errors: a mistyped SMS gateway must not stop the worker that
also raises supervision notices; its messages wait, with the reason."""

from __future__ import annotations

from django.core import checks


@checks.register()
def outbox_settings(app_configs=None, **kwargs):
    from hotline.core import channels
    from hotline.core.outbox import conf

    problems = []
    try:
        conf.load()
    except channels.ConfigError as exc:
        problems.append(str(exc))
    for name in channels.names():
        problems.extend(channels.get(name).problems())
    return [checks.Warning(p, id="hotline.W101") for p in problems]
