"""The agent desk (C2): an agent's ready / not ready / after-call work set
from their page, the screen pop of the call ringing them, the key that
starts an order linked to the call, and escalations.

``services`` writes (every state change is a normalised event through
``calls.services.ingest``, from hotline's own ``desk`` source, so
``AgentState`` and ``AgentStateEvent`` stay the one truth), ``selectors``
reads (the state's version, the pop), ``views`` / ``urls`` the pages. The
pop reaches the other apps' pages through the shell's widget hook
(``web.nav.register_widget``, registered in ``calls.apps``)."""
