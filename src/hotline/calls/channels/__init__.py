"""The calls app's outbox channels (``core.channels``' plug-ins, one folder
each, registered in ``calls.apps``): ``switch``, the commands hotline sends
a switch (C1a)."""
