"""Signals other apps react to; organisation imports none of them."""

from django.dispatch import Signal

# Sent by services.move_unit inside its transaction, after the unit's and
# its descendants' paths were rewritten: ``unit`` (the moved unit),
# ``old_path``, ``new_path``, ``unit_ids`` (the moved unit and everything
# below it). A receiver that fails rolls the move back.
unit_moved = Signal()
