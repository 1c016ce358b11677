from __future__ import annotations

from django.db import models


class ConfigGeneration(models.Model):
    """One row whose value goes up on every configuration edit, so that each
    process knows, by one tiny read every few seconds, when to drop its
    configuration cache (``hotline.core.cache``)."""

    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "configuration generation"
