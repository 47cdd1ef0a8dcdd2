"""The sidebar on every page: engine state and commands, risk mode, open breakers, the kill switch."""

from __future__ import annotations

import streamlit as st

from engine import service
from engine.paper_status import paper_feeds
from engine.runtime import HALTED, PAUSED, RUNNING, STOPPED, Engine
from ui.nav import links

STATE_COLOR = {RUNNING: "green", PAUSED: "orange", HALTED: "red", STOPPED: "gray"}


def sidebar(engine: Engine) -> None:
    links()
    with st.sidebar:
        st.divider()
        st.markdown(f"### :{STATE_COLOR.get(engine.state, 'gray')}[● {engine.state}]")
        if engine.reason:
            st.caption(engine.reason)
        healthy, venues_n = service.healthy_venues(engine)
        if engine.state == RUNNING and healthy < venues_n:
            st.warning(f"{healthy} of {venues_n} exchange{'s' if venues_n > 1 else ''} can quote: "
                       + ("nothing is quoted. " if healthy == 0 else "")
                       + "See Exchange connections.")
        venues = ", ".join(t.name for t in engine.traders)
        st.caption(f"Venue **{venues}** · risk mode **{engine.config.strategy.risk_mode}**")
        for feed in paper_feeds(engine):
            st.caption(f":material/sensors: **Paper trading** on {feed['exchange']} live data ({feed['venue']})")
        breakers = engine.risk.board.active()
        st.caption(f"Open breakers: **{len(breakers)}**" + (" — " + ", ".join(sorted({b.breaker for b in breakers}))
                                                             if breakers else ""))
        c1, c2 = st.columns(2)
        if engine.state == STOPPED:
            if c1.button("Start", width="stretch", key="sb_start"):
                try:
                    engine.start()
                except Exception as exc:  # shown, never a traceback
                    from engine.logs import configured_secrets
                    from engine.problems import explain

                    engine.error = f"Could not start: {explain(exc, configured_secrets(engine.config))}"
                else:
                    engine.error = None
                st.rerun()
        elif engine.state == RUNNING:
            if c1.button("Pause", width="stretch", key="sb_pause"):
                engine.pause()
                st.rerun()
        elif engine.state == PAUSED:
            if c1.button("Resume", width="stretch", key="sb_resume"):
                engine.resume()
                st.rerun()
        elif engine.state == HALTED and c1.button("Re-arm", width="stretch", key="sb_rearm"):
            engine.rearm()
            st.rerun()
        if c2.button("Stop", width="stretch", key="sb_stop", disabled=engine.state == STOPPED,
                     help="Stops quoting and cancels the engine's orders"):
            engine.stop()
            st.rerun()
        with st.expander("Kill switch"):
            st.caption("Halt trading and cancel every order; optionally close every position. Stays halted until "
                       "re-armed, also across restarts.")
            close_all = st.checkbox("Also close all positions", key="sb_kill_close")
            confirm = st.checkbox("I understand: halt trading now", key="sb_kill_confirm")
            if st.button("KILL", type="primary", key="sb_kill", disabled=not confirm or engine.state == STOPPED):
                result = engine.kill("kill switch from the console", close_positions=close_all, source="console")
                st.session_state.flash = ("warning" if result["orders_left"] else "success",
                                          f"Halted. Orders still live: {result['orders_left']}; closed: "
                                          f"{', '.join(result['closed']) or '—'}")
                st.rerun()
        if engine.error:
            st.error(engine.error)
        if engine.risk_stale:
            st.error("Risk checks are stale: quoting is paused until the risk job runs again.")


def flash() -> None:
    """Show (once) the result of the last command, in the box its level asks for (a failure never in a success
    box): an :class:`engine.outcome.Outcome`, a ``(level, text)`` pair, or text (an error when it says "Not saved")."""
    message = st.session_state.pop("flash", None)
    if not message:
        return
    if isinstance(message, tuple):
        level, text = message
    elif hasattr(message, "level"):
        level, text = message.level, message.text
    else:
        level, text = ("error" if str(message).startswith(("Not saved", "Could not")) else "success"), str(message)
    {"success": st.success, "info": st.info, "warning": st.warning}.get(level, st.error)(text)
